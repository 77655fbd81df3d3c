// The short names that hephyd's HTTP code, client and server, gives Boost.Beast
// and Asio, as Beast's own examples do: beast::, http:: and net::. Declares
// the namespaces only; each file includes the Beast and Asio headers it uses.
#pragma once

namespace boost::asio {}
namespace boost::beast::http {}

namespace hephy {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

}  // namespace hephy
