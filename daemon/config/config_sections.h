// One reader per section of the config file, each in its own file
// (SECTION_section.cc): it checks every key of its section and fills the
// section's struct (hephy/config.h). Errors go through the ConfigReader, so
// they name the file, the line and the key. What depends on several sections
// (defaults, registry.insecure against registry.embedded, paths against
// data_dir) is settled afterwards by ParseConfig.
#pragma once

#include <optional>

#include "config/config_reader.h"
#include "hephy/config.h"

namespace hephy {

void ReadSshSection(const ConfigReader& r, Node node, Key key, SshConfig& ssh);
void ReadHttpSection(const ConfigReader& r, Node node, Key key, HttpConfig& http);
// `insecure_node` gets registry.insecure's node when the file sets it.
void ReadRegistrySection(const ConfigReader& r, Node node, Key key, RegistryConfig& registry,
                         std::optional<YAML::Node>& insecure_node);
void ReadBuilderSection(const ConfigReader& r, Node node, Key key, BuilderConfig& builder);
// builder.kaniko and builder.kubernetes, the Kaniko executors' keys.
void ReadKanikoSection(const ConfigReader& r, Node node, Key key, KanikoConfig& kaniko);
void ReadKubernetesSection(const ConfigReader& r, Node node, Key key, KubernetesConfig& kube);
void ReadUpstreamsSection(const ConfigReader& r, Node node, Key key, UpstreamsConfig& upstreams);
void ReadServeSection(const ConfigReader& r, Node node, Key key, ServeConfig& serve);
void ReadRetentionSection(const ConfigReader& r, Node node, Key key, RetentionConfig& retention);

}  // namespace hephy
