#include "adapters/cli/commands.hpp"
#include "store/store.hpp"

#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>

int main(int argc, char** argv) {
    // A reader that goes away (`backtalk chat --json | head -1`) must not
    // kill the process before the log is written: writes fail instead, and
    // the exit status says so (below).
    std::signal(SIGPIPE, SIG_IGN);
    backtalk::store::configure_sqlite_library();
    CLI::App app{"backtalk: a rule-based advisor for back-muscle pain.\n"
                 "It does not diagnose; in an emergency call your local emergency number.",
                 "backtalk"};
    app.set_version_flag("--version", std::string("backtalk ") + BACKTALK_VERSION);
    backtalk::cli::add_config_file_option(app);
    app.require_subcommand(1);

    backtalk::cli::add_chat_command(app);
    backtalk::cli::add_rules_command(app);
    backtalk::cli::add_serve_command(app);
    backtalk::cli::add_logs_command(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::cerr << "backtalk: " << e.what() << '\n';
        return EXIT_FAILURE;
    }
    // A full disk or a closed pipe: the output is lost, which a script
    // reading it must learn from the exit status.
    if (!std::cout.flush()) {
        std::cerr << "backtalk: writing to standard output failed\n";
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
