// `backtalk serve`: the web chat widget, its WebSocket, /healthz and
// /metrics in one process. Options come from flags, BACKTALK_* environment
// variables or the config file, in that order.
#include "adapters/cli/commands.hpp"
#include "adapters/core/conversations.hpp"
#include "adapters/core/retention.hpp"
#include "adapters/core/rules_reloader.hpp"
#include "adapters/core/rules_sync.hpp"
#include "adapters/server/admin_routes.hpp"
#include "adapters/server/channel_routes.hpp"
#include "adapters/server/channel_secrets.hpp"
#include "adapters/server/emergency_alerts.hpp"
#include "adapters/server/gateway.hpp"
#include "adapters/server/log.hpp"
#include "adapters/server/rules_log.hpp"
#include "adapters/server/rules_status.hpp"
#include "adapters/server/server.hpp"
#include "adapters/server/server_context.hpp"
#include "adapters/server/store_metrics.hpp"
#include "bot/engine.hpp"
#include "bot/ruleset.hpp"
#include "store/store.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <pthread.h>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace backtalk::cli {

namespace {

struct ServeSettings {
    CommonOptions common;
    std::string listen = "127.0.0.1:8080";
    std::vector<std::string> allowed_origins;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::string idle_expiry = "24h";
    std::string memory_idle = "10m";
    unsigned retention_days = 0;  // 0: keep everything
    std::string frame_ancestors = "'self'";
    std::string web_dir;
    std::size_t max_connections = server::default_max_connections;
    std::size_t max_connections_per_address = server::default_max_connections_per_address;
    double messages_per_second = server::default_messages_per_second;
    double message_burst = server::default_message_burst;
    bool no_log = false;  // no conversation log, no session snapshots
    std::string log_level = "info";
    server::ChannelOptions channels;
    std::string admin_token_file;
    std::string alert_url;  // empty: emergency alerts off
    std::string alert_secret_file;
    bool alert_include_words = false;
};

// Emergency alerts as configured; the secret is read only when they are on.
server::AlertOptions alert_options(const ServeSettings& settings) {
    server::AlertOptions options;
    options.url = settings.alert_url;
    if (!options.url.empty()) options.secret = server::load_secret("BACKTALK_ALERT_SECRET", settings.alert_secret_file);
    options.include_words = settings.alert_include_words;
    server::validate(options);
    return options;
}

server::ServerOptions server_options(const ServeSettings& settings) {
    server::ServerOptions options;
    options.listen = server::parse_listen_address(settings.listen);
    options.allowed_origins = settings.allowed_origins;
    options.threads = settings.threads;
    options.frame_ancestors = settings.frame_ancestors;
    options.web_dir = settings.web_dir.empty() ? resolve_web_dir() : std::filesystem::path(settings.web_dir);
    options.max_connections = settings.max_connections;
    options.max_connections_per_address = settings.max_connections_per_address;
    options.messages_per_second = settings.messages_per_second;
    options.message_burst = settings.message_burst;
    return options;
}

std::string joined(const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
    return text;
}

std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

std::string absolute_path(const std::filesystem::path& path) {
    std::error_code ec;
    const auto full = std::filesystem::absolute(path, ec);
    return (ec ? path : full).string();
}

// One line with every setting as it took effect (after flags, variables, the
// config file and defaults, with the bound port and the allowed origins as
// the server uses them), so that the journal answers "what is this server
// running with?". Secrets are only said to be set, never shown.
void log_effective_settings(const ServeSettings& settings, const server::ServerContext& context,
                            const server::ListenAddress& bound, const server::ChannelConfig& channels, bool admin_on,
                            const Engine& engine, const std::filesystem::path& rules_dir) {
    const bool v6 = bound.host.find(':') != std::string::npos;
    const std::string listen = (v6 ? "[" + bound.host + "]" : bound.host) + ":" + std::to_string(bound.port);
    const std::string origins = joined(context.allowed_origins);
    const std::string db = describe_database(settings.common);
    const std::string web_dir = absolute_path(context.options.web_dir);
    const std::string rules = absolute_path(rules_dir);
    const std::string emergency_number = settings.common.emergency_number.empty()
                                             ? engine.rules().default_emergency_number
                                             : settings.common.emergency_number;
    const std::string threads = std::to_string(settings.threads);
    const std::string retention_days = std::to_string(settings.retention_days);
    const std::string max_connections = std::to_string(settings.max_connections);
    const std::string max_per_address = std::to_string(settings.max_connections_per_address);
    const std::string rate = number(settings.messages_per_second);
    const std::string burst = number(settings.message_burst);
    // Instances sharing a PostgreSQL database must hash user ids alike.
    const bool shared_database = database_path(settings.common).empty();
    const char* hash_key = std::getenv("BACKTALK_HASH_KEY") ? "set (BACKTALK_HASH_KEY)"
                           : shared_database ? "data/hash.key, this instance's own: give every instance the same "
                                               "BACKTALK_HASH_KEY"
                                             : "hash.key beside the database";
    server::log(server::LogLevel::info, "settings",
                {{"listen", listen},
                 {"allowed-origin", origins},
                 {"db", db},
                 {"no-log", settings.no_log ? "true" : "false"},
                 {"redact", settings.common.redact},
                 {"rules", rules},
                 {"rules-version", engine.rules().version},
                 {"locale", settings.common.locale},
                 {"emergency-number", emergency_number},
                 {"web-dir", web_dir},
                 {"frame-ancestors", settings.frame_ancestors},
                 {"threads", threads},
                 {"idle-expiry", settings.idle_expiry},
                 {"memory-idle", settings.memory_idle},
                 {"retention-days", retention_days},
                 {"max-connections", max_connections},
                 {"max-connections-per-address", max_per_address},
                 {"rate", rate},
                 {"burst", burst},
                 {"log-level", settings.log_level},
                 {"telegram-webhook", channels.telegram.secret.empty() ? "off" : "on"},
                 {"telegram-api-base", channels.telegram.api.base_url},
                 {"rest-signed", channels.rest.secret.empty() ? "false" : "true"},
                 {"admin", admin_on ? "on" : "off"},
                 {"alert-webhook", settings.alert_url.empty() ? "off" : "on"},
                 {"alert-include-words", settings.alert_include_words ? "true" : "false"},
                 {"hash-key", hash_key}});
}

std::int64_t wall_clock_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void serve(const ServeSettings& settings) {
    // SIGHUP means "reload the rules" once the server listens for it; until
    // then (options, rules, database) its default action would end the
    // process, and a reload asked for while the rules are being loaded has
    // nothing to add.
    std::signal(SIGHUP, SIG_IGN);
    // Everything that can be wrong with the options fails here, before the
    // database or the port is touched.
    const auto options = server_options(settings);
    server::validate(options);
    const auto channel_config = server::load_channel_config(settings.channels);
    const std::string admin_token = server::load_admin_token(settings.admin_token_file);
    const server::AlertOptions alerting = alert_options(settings);
    ConversationOptions conversation_options;
    conversation_options.idle_expiry = server::parse_duration(settings.idle_expiry);
    conversation_options.memory_idle = server::parse_duration(settings.memory_idle);
    conversation_options.locale = settings.common.locale;

    constexpr unsigned max_retention_days = 36500;
    if (settings.retention_days > max_retention_days) {
        throw std::runtime_error("--retention-days must be at most " + std::to_string(max_retention_days) +
                                 " (0 keeps everything)");
    }

    const auto level = server::log_level_from_string(settings.log_level);
    if (!level) throw std::runtime_error("--log-level must be debug, info, warn or error");
    server::set_log_level(*level);
    auto engine = engine_from_rules(settings.common);
    const EngineOptions engine_options{settings.common.emergency_number};

    store::Store log_store(log_store_options(settings.common));
    // --no-log: the service gets no store, so it logs nothing and saves no
    // snapshots; the database still serves the channels' bindings.
    ConversationService conversations(std::move(engine), settings.no_log ? nullptr : &log_store,
                                      conversation_options, wall_clock_ms, random_session_id);

    const std::filesystem::path rules_dir = resolve_rules_dir(settings.common);
    RulesReloader reloader(conversations, rules_dir, engine_options);
    // On a shared database: reloads published to every instance, and theirs
    // followed here (on the store's watch thread).
    RulesSync rules_sync(reloader, &log_store,
                         {server::log_followed_reload,
                          [](std::string_view line) { server::log(server::LogLevel::warn, line); }, wall_clock_ms});

    std::optional<RetentionSweeper> retention;
    if (settings.retention_days > 0) {
        RetentionOptions retention_options;
        retention_options.keep = std::chrono::hours(24) * settings.retention_days;
        retention.emplace(log_store, retention_options, wall_clock_ms, [](const RetentionReport& report) {
            if (report.ok) {
                server::log(server::LogLevel::info, "retention purge",
                            {{"conversations_removed", std::to_string(report.removed)}});
            } else {
                server::log(server::LogLevel::warn, "retention purge failed, retrying in an hour",
                            {{"error", report.error}});
            }
        });
    }

    server::Server http_server(options);
    const server::ListenAddress bound = http_server.listen();
    // A reload reads files and may write the database: on a thread of its
    // own, never the network thread that caught the signal.
    boost::asio::thread_pool reload_worker(1);
    boost::asio::post(reload_worker, [] { pthread_setname_np(pthread_self(), "backtalk-reload"); });
    http_server.on_reload_signal([&reload_worker, &rules_sync] {
        boost::asio::post(reload_worker, [&rules_sync] { server::log_reload(rules_sync.reload("SIGHUP"), "SIGHUP"); });
    });
    server::add_store_metrics(http_server.metrics(), log_store);
    server::add_rules_metrics(http_server.metrics(), rules_sync);
    server::add_gateway_routes(http_server,
                               {conversations, options.web_dir,
                                [&log_store] { return server::store_health(log_store); },
                                [&rules_sync] { return rules_sync.status(); }});
    // One thread for the admin API's database work: reviews wait for each
    // other, never a network thread.
    boost::asio::thread_pool admin_worker(1);
    boost::asio::post(admin_worker, [] { pthread_setname_np(pthread_self(), "backtalk-admin"); });
    server::add_admin_routes(http_server.router(), admin_token,
                             {http_server.metrics(), log_store, rules_sync, conversations, options.web_dir,
                              wall_clock_ms, admin_worker.get_executor()});
    auto channels = server::add_channel_routes(http_server, channel_config, {conversations, log_store});
    std::optional<server::EmergencyAlerts> alerts;
    server::alert_metrics(http_server.metrics());  // listed at 0 even when alerts are off
    if (!alerting.url.empty()) {
        alerts.emplace(alerting, http_server.metrics());
        conversations.on_advice([&alerts](const AdviceGiven& advice) { alerts->notify(advice); });
    }
    log_effective_settings(settings, *http_server.context(), bound, channel_config, !admin_token.empty(),
                           *conversations.engine(), rules_dir);
    http_server.run();
    // Reviews still queued are dropped with their connections; the one
    // running finishes before the store closes.
    admin_worker.stop();
    admin_worker.join();
    reload_worker.stop();
    reload_worker.join();
    // A stop must end within 5 s even when everything goes wrong: up to
    // shutdown_grace (3 s) for the connections, then 1 s for Bot API calls
    // still queued (they have been going out all along) and 1 s for a
    // failing database. A healthy one commits everything well within it.
    constexpr std::chrono::seconds final_grace{1};
    channels.stop(final_grace);
    // Alerts have been going out all along too; one still failing after
    // half a second more is counted as a dead letter and logged.
    if (alerts) alerts->stop(std::chrono::milliseconds(500));

    // Every thread has joined: commit what the last turns queued.
    retention.reset();
    const auto counters = log_store.close(final_grace);
    if (counters.dropped > 0) {
        server::log(server::LogLevel::error, "log records could not be written", {{"dropped", std::to_string(counters.dropped)}});
    }
}

}  // namespace

void add_serve_command(CLI::App& app) {
    auto settings = std::make_shared<ServeSettings>();
    CLI::App* command = app.add_subcommand(
        "serve", "Serve the web chat widget, its WebSocket (/ws), /healthz and /metrics");
    add_common_options(*command, settings->common);
    add_redaction_option(*command, settings->common);
    command->add_option("--listen", settings->listen, "HOST:PORT to listen on (port 0: any free port)")
        ->envname("BACKTALK_LISTEN")
        ->capture_default_str();
    command->add_option("--allowed-origin", settings->allowed_origins,
                        "Origin allowed to open the WebSocket, e.g. https://example.org, or *; "
                        "repeatable (default: the server's own origin)")
        ->envname("BACKTALK_ALLOWED_ORIGIN")
        ->delimiter(',');
    command->add_option("--log-level", settings->log_level, "Server log on stderr: debug, info, warn or error")
        ->envname("BACKTALK_LOG_LEVEL")
        ->capture_default_str();
    command->add_option("--threads", settings->threads, "Network threads (default: the cores)")
        ->envname("BACKTALK_THREADS")
        ->capture_default_str();
    command->add_option("--idle-expiry", settings->idle_expiry,
                        "Idle time after which a conversation can no longer be resumed (90s, 30m, 24h, 7d)")
        ->envname("BACKTALK_IDLE_EXPIRY")
        ->capture_default_str();
    command->add_option("--retention-days", settings->retention_days,
                        "Purge conversations last active more than this many days ago, at start and "
                        "every hour (0: keep everything)")
        ->envname("BACKTALK_RETENTION_DAYS")
        ->capture_default_str();
    command->add_option("--memory-idle", settings->memory_idle,
                        "Idle time after which a conversation leaves memory; it is read back from the "
                        "database when it goes on (with --no-log: --idle-expiry)")
        ->envname("BACKTALK_MEMORY_IDLE")
        ->capture_default_str();
    command->add_option("--frame-ancestors", settings->frame_ancestors,
                        "CSP frame-ancestors: the sites that may embed the pages in a frame")
        ->envname("BACKTALK_FRAME_ANCESTORS")
        ->capture_default_str();
    command->add_option("--web-dir", settings->web_dir,
                        "Directory of index.html, widget.js and widget.css (default: adapters/web, "
                        "then the installed data directory)")
        ->envname("BACKTALK_WEB_DIR");
    command->add_option("--max-connections", settings->max_connections, "Open connections in total")
        ->envname("BACKTALK_MAX_CONNECTIONS")
        ->capture_default_str();
    command->add_option("--max-connections-per-address", settings->max_connections_per_address,
                        "Open connections from one client address")
        ->envname("BACKTALK_MAX_CONNECTIONS_PER_ADDRESS")
        ->capture_default_str();
    command->add_option("--rate", settings->messages_per_second,
                        "Messages per second one WebSocket may send, sustained")
        ->envname("BACKTALK_RATE")
        ->capture_default_str();
    command->add_option("--burst", settings->message_burst,
                        "Messages one WebSocket may send at once before the rate applies")
        ->envname("BACKTALK_BURST")
        ->capture_default_str();
    command->add_flag("--no-log", settings->no_log,
                      "Keep no conversation log and no session snapshots (conversations cannot be "
                      "resumed after a restart); for load tests and privacy-first setups")
        ->envname("BACKTALK_NO_LOG");
    command->add_option("--telegram-secret-file", settings->channels.telegram_secret_file,
                        "File holding the Telegram webhook secret; turns on POST /telegram/webhook "
                        "(or set BACKTALK_TELEGRAM_SECRET)")
        ->envname("BACKTALK_TELEGRAM_SECRET_FILE");
    command->add_option("--telegram-token-file", settings->channels.telegram_token_file,
                        "File holding the Telegram bot token (or set BACKTALK_TELEGRAM_TOKEN)")
        ->envname("BACKTALK_TELEGRAM_TOKEN_FILE");
    command->add_option("--telegram-api-base", settings->channels.telegram_api_base,
                        "Telegram Bot API base URL (a local Bot API server or a test stub)")
        ->envname("BACKTALK_TELEGRAM_API_BASE")
        ->capture_default_str();
    command->add_option("--rest-secret-file", settings->channels.rest_secret_file,
                        "File holding the secret that signs POST /api/v1/chat requests "
                        "(or set BACKTALK_REST_SECRET); without one, requests are not signed")
        ->envname("BACKTALK_REST_SECRET_FILE");
    command->add_option("--admin-token-file", settings->admin_token_file,
                        "File holding the admin token; turns on /admin and the review API "
                        "(or set BACKTALK_ADMIN_TOKEN)")
        ->envname("BACKTALK_ADMIN_TOKEN_FILE");
    command->add_option("--alert-webhook-url", settings->alert_url,
                        "URL to POST a signed alert to for each emergency outcome "
                        "(docs/operations.md); off when empty")
        ->envname("BACKTALK_ALERT_WEBHOOK_URL");
    command->add_option("--alert-secret-file", settings->alert_secret_file,
                        "File holding the secret that signs the alerts (or set BACKTALK_ALERT_SECRET)")
        ->envname("BACKTALK_ALERT_SECRET_FILE");
    command->add_flag("--alert-include-words", settings->alert_include_words,
                      "Put what the person wrote in the turn into each alert (off: never their words)")
        ->envname("BACKTALK_ALERT_INCLUDE_WORDS");
    command->callback([settings] { serve(*settings); });
}

}  // namespace backtalk::cli
