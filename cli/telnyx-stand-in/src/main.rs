//! `telnyx-stand-in serve | send | calls`: wiring only (see lib.rs).

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use portguard_fixtures as fixtures;

#[derive(Parser)]
#[command(about = "Telnyx on loopback, for development: its port-out API and its signed events")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API stand-in until interrupted.
    Serve {
        #[arg(long, default_value = "127.0.0.1:4011")]
        listen: SocketAddr,
        /// The Bearer key it accepts.
        #[arg(long, env = "TELNYX_API_KEY", default_value = fixtures::TELNYX_API_KEY)]
        api_key: String,
    },
    /// Send one signed port-out event to portguard and print the answer.
    Send {
        /// The Telnyx route of the local API.
        #[arg(
            long,
            default_value = "http://127.0.0.1:3000/v1/integrations/telnyx/port-out-events"
        )]
        to: String,
        #[arg(long, default_value = "portout.status_changed")]
        event_type: String,
        #[arg(long, default_value = "pending")]
        status: String,
        /// Telnyx's id of the port-out.
        #[arg(long, default_value = "9a1f5e3c-0000-4000-8000-000000000001")]
        port_out_id: String,
        #[arg(long, value_delimiter = ',', default_value = "+12065550100")]
        numbers: Vec<String>,
        /// `attempted_pin`; omit it to send none.
        #[arg(long)]
        pin: Option<String>,
        #[arg(long)]
        foc_date: Option<String>,
        /// The event id (default: a new one).
        #[arg(long)]
        event_id: Option<String>,
        /// Base64 of the Ed25519 seed (default: the development key).
        #[arg(long, default_value = fixtures::TELNYX_PRIVATE_KEY)]
        private_key: String,
    },
    /// Print the calls the stand-in received.
    Calls {
        #[arg(long, default_value = "http://127.0.0.1:4011/_calls")]
        url: String,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Serve { listen, api_key } => {
            let stand_in = telnyx_stand_in::StandIn::start(listen, &api_key).await?;
            println!(
                "telnyx-stand-in: TELNYX_API_BASE_URL={}",
                stand_in.base_url()
            );
            tokio::signal::ctrl_c().await?;
        }
        Command::Send {
            to,
            event_type,
            status,
            port_out_id,
            numbers,
            pin,
            foc_date,
            event_id,
            private_key,
        } => {
            let status = (event_type == "portout.status_changed").then_some(status.as_str());
            let body = telnyx_stand_in::event_body(
                &event_id.unwrap_or_else(telnyx_stand_in::new_event_id),
                &event_type,
                &port_out_id,
                status,
                &numbers,
                pin.as_deref(),
                foc_date.as_deref(),
            );
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
            let (code, answer) = telnyx_stand_in::send_event(&to, &private_key, now, body).await?;
            println!("{code} {answer}");
        }
        Command::Calls { url } => {
            let url = url.strip_prefix("http://").ok_or("http:// only")?;
            let (host, path) = url.split_once('/').ok_or("no path")?;
            let mut stream = tokio::net::TcpStream::connect(host).await?;
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let req = format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            stream.write_all(req.as_bytes()).await?;
            let mut out = String::new();
            stream.read_to_string(&mut out).await?;
            println!("{}", out.split_once("\r\n\r\n").map_or("", |(_, b)| b));
        }
    }
    Ok(())
}
