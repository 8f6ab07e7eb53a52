//! `portguard-local-api`: wiring only; see the library.

use clap::Parser;
use portguard_local_api::auth::{self, Authorizer};
use portguard_local_api::{routes, server};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "portguard-local-api",
    version,
    about = "DEVELOPMENT TOOL, never deployed: portguard's HTTP API on loopback, in front of `cargo lambda watch`.",
    long_about = "DEVELOPMENT TOOL, never deployed: portguard's HTTP API on loopback, in front of \
        `cargo lambda watch`.\n\n\
        Serves the routes of infra/template.yaml, checks bearer JWTs as API Gateway's JWT authorizer \
        would (signature, iss, aud, exp, the route's scope) with a development HS256 key, turns each \
        request into an API Gateway payload-2.0 event and posts it to the function's invoke endpoint \
        under `cargo lambda watch`. Also serves the tenant admin console at / and, to loopback clients, \
        a development sign-in at POST /_dev/token. It trusts a key file on this machine: never expose \
        it beyond loopback, never deploy it. `make dev` starts it.\n\n\
        Tokens: portguard-admin dev-token --tenant-id t-100"
)]
struct Cli {
    /// Address to listen on (loopback only: it mints tokens for anyone who can reach it).
    #[arg(
        long,
        default_value = "127.0.0.1:3000",
        env = "PORTGUARD_LOCAL_API_LISTEN"
    )]
    listen: SocketAddr,
    /// `cargo lambda watch`'s invoke address.
    #[arg(long, default_value = "127.0.0.1:9000", env = "PORTGUARD_WATCH_ADDR")]
    watch: SocketAddr,
    /// The development signing key (HS256), created by `make dev`.
    #[arg(long, default_value = auth::DEV_KEY_FILE, env = "PORTGUARD_DEV_JWT_KEY_FILE")]
    key_file: PathBuf,
    /// The console's static files.
    #[arg(long, default_value = "console")]
    console_dir: PathBuf,
    /// Seconds to wait for a function (API Gateway's integration limit is 30).
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Do not serve the development sign-in (POST /_dev/token).
    #[arg(long)]
    no_dev_sign_in: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if !cli.listen.ip().is_loopback() {
        eprintln!(
            "portguard-local-api: refusing to listen on {}: loopback only",
            cli.listen
        );
        return ExitCode::FAILURE;
    }
    let authorizer = match Authorizer::dev_from_file(&cli.key_file) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("portguard-local-api: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(cli.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("portguard-local-api: cannot listen on {}: {e}", cli.listen);
            return ExitCode::FAILURE;
        }
    };
    let console_dir = cli.console_dir.is_dir().then_some(cli.console_dir);
    eprintln!(
        "[local-api] development API on http://{} -> cargo lambda watch on {} (console: {})",
        cli.listen,
        cli.watch,
        console_dir
            .as_ref()
            .map_or("none".into(), |d| d.display().to_string())
    );
    let config = server::Config {
        routes: routes::routes(),
        authorizer,
        watch: cli.watch,
        timeout: Duration::from_secs(cli.timeout),
        console_dir,
        dev_sign_in: !cli.no_dev_sign_in,
    };
    tokio::select! {
        r = server::serve(listener, config) => {
            if let Err(e) = r {
                eprintln!("portguard-local-api: {e}");
                return ExitCode::FAILURE;
            }
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    ExitCode::SUCCESS
}
