// `backtalk logs ...`: review and maintenance of the conversation log.
#include "adapters/cli/commands.hpp"

namespace backtalk::cli {

void add_logs_command(CLI::App& app) {
    CLI::App* logs = app.add_subcommand("logs", "Review and maintain the conversation log");
    logs->require_subcommand(1);
}

}  // namespace backtalk::cli
