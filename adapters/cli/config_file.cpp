#include "adapters/cli/commands.hpp"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace backtalk::cli {
namespace {

std::string environment(const std::string& name) {
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    return value ? value : "";
}

// Reads the config file for CLI11 and fixes two things about version 2.1.2:
// - it applies the file before the environment, and an option set from the
//   file no longer looks at its variable; dropping the file's value for every
//   option whose BACKTALK_* variable is set restores the documented order:
//   flags, then variables, then the file, then defaults;
// - it ignores a misspelt key or section without a word; here it is an error
//   that names it.
class CheckedConfig : public CLI::ConfigTOML {
public:
    explicit CheckedConfig(const CLI::App& app) : app_(app) {}

    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
        std::vector<CLI::ConfigItem> read = CLI::ConfigTOML::from_config(input);
        std::erase_if(read, [&](const CLI::ConfigItem& item) {
            const CLI::Option* option = option_of(item);
            return option && !environment(option->get_envname()).empty();
        });
        return read;
    }

private:
    // The option a key sets; nullptr for the markers of a section's start and
    // end. Throws CLI::ConfigError for a section or key no command takes.
    const CLI::Option* option_of(const CLI::ConfigItem& item) const {
        const CLI::App* command = &app_;
        std::string section;
        for (const auto& parent : item.parents) {
            section += (section.empty() ? "" : ".") + parent;
            try {
                command = command->get_subcommand(parent);
            } catch (const CLI::OptionNotFound&) {
                throw CLI::ConfigError("the config file has a section no command takes: [" + section + "]");
            }
        }
        if (item.name == "++" || item.name == "--") return nullptr;
        const CLI::Option* option = command->get_option_no_throw("--" + item.name);
        if (!option) {
            throw CLI::ConfigError("the config file has a key no option takes: " +
                                   (section.empty() ? item.name : "[" + section + "] " + item.name));
        }
        return option;
    }

    const CLI::App& app_;
};

}  // namespace

void add_config_file_option(CLI::App& app) {
    // BACKTALK_CONFIG has to be read here: CLI11 reads variables only after
    // it has loaded the config file. A file named by the variable must exist.
    const std::string from_environment = environment("BACKTALK_CONFIG");
    app.set_config("--config", from_environment, "Config file (TOML); also BACKTALK_CONFIG",
                   !from_environment.empty());
    app.config_formatter(std::make_shared<CheckedConfig>(app));
}

}  // namespace backtalk::cli
