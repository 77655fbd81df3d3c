// hephy's web page: the live parts only. The page reads whole without it.
// Follows a running build's logs (server-sent events from data-events) and
// copies pull lines. No dependencies; every text goes in by textContent.
"use strict";
(function () {
  const MAX_LINES = 5000;
  for (const button of document.querySelectorAll("button.copy")) {
    const code = button.previousElementSibling;
    if (!code || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(code.textContent).then(function () {
        button.textContent = "Copied";
      });
    });
  }
  const build = document.getElementById("build");
  if (!build || !build.dataset.events || !window.EventSource) return;
  const logs = {};
  for (const code of document.querySelectorAll("code[data-log]")) {
    logs[code.dataset.log] = code;
  }
  let fresh = true; // the stream replays each log from its start
  const source = new EventSource(build.dataset.events);
  source.addEventListener("open", function () {
    fresh = true;
  });
  source.addEventListener("line", function (event) {
    const data = JSON.parse(event.data);
    const code = logs[data.platform];
    if (!code) return;
    if (fresh) {
      for (const key in logs) logs[key].textContent = "";
      fresh = false;
    }
    const stick = code.parentElement.scrollTop + code.parentElement.clientHeight >=
        code.parentElement.scrollHeight - 4;
    const span = document.createElement("span");
    span.className = "line";
    span.textContent = data.text + "\n";
    code.appendChild(span);
    while (code.childElementCount > MAX_LINES) code.firstElementChild.remove();
    if (stick) code.parentElement.scrollTop = code.parentElement.scrollHeight;
  });
  source.addEventListener("end", function (event) {
    source.close();
    build.dataset.status = JSON.parse(event.data).status;
    window.location.reload();
  });
})();
