//! `portguard-admin`: provisioning and operations against the portguard
//! table. Exit 0 on success; otherwise one line on stderr and exit 1.

use clap::{Parser, Subcommand};
use portguard_store::notify::{EndpointChange, Target};
use portguard_store::Written;
use portguard_store::{clock, clock::Timestamp, numbers::AddOutcome, Store};
use portguard_validation::{AccountNumber, CarrierId, Country, NotifyUrl, PhoneNumber, TenantId};
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "portguard-admin",
    version,
    about = "Provision tenants and phone numbers for portguard, and create its table.",
    long_about = "Provision tenants and phone numbers for portguard, and create its table.\n\n\
        Talks to the DynamoDB table named by --table or TABLE_NAME, with the standard AWS SDK \
        environment (AWS_REGION, credentials, and AWS_ENDPOINT_URL_DYNAMODB to use DynamoDB Local).\n\n\
        Examples:\n  portguard-admin create-table\n  \
        portguard-admin tenant put --tenant-id t-100 --account-number ACC-1001 --country US --name \"Acme\"\n  \
        portguard-admin numbers add --tenant-id t-100 +12065550100 \"(206) 555-0101\"\n  \
        portguard-admin tenant show --tenant-id t-100\n  \
        portguard-admin carrier set-endpoint --carrier-id carrier-a --url https://carrier-a.example/hooks\n  \
        portguard-admin carrier show --carrier-id carrier-a\n\n\
        NOTIFY_ALLOW_LOOPBACK_HTTP=true lets an endpoint be http://127.0.0.1 or localhost (development only)."
)]
struct Cli {
    /// DynamoDB table to use.
    #[arg(long, env = "TABLE_NAME", global = true)]
    table: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table with the keys and indexes of infra/template.yaml (an existing table is fine).
    CreateTable,
    /// Tenants: the business customers whose numbers portguard protects.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Phone numbers on a tenant's account.
    #[command(subcommand)]
    Numbers(NumbersCommand),
    /// Development only: print a bearer token for portguard-local-api (`make dev`), signed
    /// with the local development key. Worthless against a deployed API.
    #[command(group(clap::ArgGroup::new("who").required(true).args(["tenant_id", "carrier_id"])))]
    DevToken {
        /// A tenant admin's token (claim tenant_id, scope portguard/admin).
        #[arg(long)]
        tenant_id: Option<String>,
        /// A gaining carrier's token (claim carrier_id, scope portguard/carrier).
        #[arg(long)]
        carrier_id: Option<String>,
        /// The development signing key that `make dev` creates.
        #[arg(long, default_value = portguard_local_api::auth::DEV_KEY_FILE, env = "PORTGUARD_DEV_JWT_KEY_FILE")]
        key_file: std::path::PathBuf,
    },
    /// Gaining carriers: their notification endpoints.
    #[command(subcommand)]
    Carrier(CarrierCommand),
}

#[derive(Subcommand)]
enum CarrierCommand {
    /// Register or change a carrier's notification endpoint (https; loopback
    /// only with NOTIFY_ALLOW_LOOPBACK_HTTP=true). Prints its whsec_ signing
    /// secret once, when the endpoint is created or --rotate-secret is given;
    /// needs ENDPOINT_SECRET_KEY, the notifier's master key of endpoint
    /// secrets.
    SetEndpoint {
        #[arg(long)]
        carrier_id: String,
        #[arg(long)]
        url: String,
        /// Issue a new signing secret for an existing endpoint.
        #[arg(long)]
        rotate_secret: bool,
    },
    /// Show a carrier's endpoint and its delivery state (never its secret).
    Show {
        #[arg(long)]
        carrier_id: String,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant or update its profile. Never touches its PIN or lock.
    Put {
        /// The tenant id, as in the tenant admins' tokens (claim tenant_id).
        #[arg(long)]
        tenant_id: String,
        /// The account number gaining carriers quote; unique across tenants.
        #[arg(long)]
        account_number: String,
        /// ISO country code; only US tenants can set a port-out PIN.
        #[arg(long)]
        country: String,
        /// A display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Show a tenant and its PIN status (never the PIN or its hash).
    Show {
        #[arg(long)]
        tenant_id: String,
    },
}

#[derive(Subcommand)]
enum NumbersCommand {
    /// Add numbers (any US format; stored as E.164). A number of another tenant is refused.
    Add {
        #[arg(long)]
        tenant_id: String,
        #[arg(required = true)]
        numbers: Vec<String>,
    },
    /// List a tenant's numbers and any open port-out holding them.
    List {
        #[arg(long)]
        tenant_id: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("portguard-admin: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Command::DevToken {
        tenant_id,
        carrier_id,
        key_file,
    } = &cli.command
    {
        return dev_token(tenant_id.as_deref(), carrier_id.as_deref(), key_file);
    }
    let table = cli
        .table
        .filter(|t| !t.is_empty())
        .ok_or("no table: set TABLE_NAME or pass --table")?;
    // An operator's tool: patient time limits (creating a table is slow).
    let store = Store::connect_with(table, Duration::from_secs(20), Duration::from_secs(60)).await;
    let now = Timestamp::now();
    let fail = |e: portguard_store::StoreError| e.to_string().replace('\n', " ");
    match cli.command {
        Command::CreateTable => {
            let created = store.create_table().await.map_err(fail)?;
            let verb = if created { "created" } else { "already exists" };
            println!("table {} {verb}", store.table());
        }
        Command::Tenant(TenantCommand::Put {
            tenant_id,
            account_number,
            country,
            name,
        }) => {
            let tenant = TenantId::parse(&tenant_id).map_err(|e| e.to_string())?;
            let account = AccountNumber::parse(&account_number).map_err(|e| e.to_string())?;
            let country = Country::parse(&country).map_err(|e| e.to_string())?;
            store
                .put_tenant(
                    &tenant,
                    account.as_str(),
                    country.as_str(),
                    name.as_deref(),
                    now,
                )
                .await
                .map_err(fail)?
                .map_err(|_| format!("account number {account} belongs to another tenant"))?;
            println!("tenant {tenant} saved");
        }
        Command::Tenant(TenantCommand::Show { tenant_id }) => {
            let tenant_id = TenantId::parse(&tenant_id).map_err(|e| e.to_string())?;
            let tenant = store
                .get_tenant(&tenant_id)
                .await
                .map_err(fail)?
                .ok_or(format!("tenant {tenant_id} not found"))?;
            let (locked, locked_until) = tenant.locks.summary(clock::now());
            let setting = |s: portguard_store::protection::Setting| {
                let view = s.view(clock::now());
                json!({"enabled": view.enabled, "disableAt": view.disable_at.map(clock::format)})
            };
            let shown = json!({
                "tenantId": tenant.tenant_id,
                "accountNumber": tenant.account_number,
                "country": tenant.country,
                "name": tenant.name,
                "createdAt": tenant.created_at,
                "pinSet": tenant.pin.is_some(),
                "pinUpdatedAt": tenant.pin_updated_at,
                "locked": locked,
                "hardLocked": tenant.locks.any_hard(),
                "lockedUntil": locked_until.map(clock::format),
                // Per carrier (contract §4.1): failed attempts and locks.
                "carrierLocks": tenant.locks.iter().map(|(carrier, lock)| {
                    let status = lock.status(clock::now());
                    json!({
                        "carrierId": carrier,
                        "failedAttempts": if status.is_locked() { 0 } else { lock.failed_attempts },
                        "locked": status.is_locked(),
                        "hard": lock.hard_locked,
                        "until": lock.locked_until.filter(|_| status.is_locked()).map(clock::format),
                    })
                }).collect::<Vec<_>>(),
                // Port-out protection (contract §11) as in force now.
                "portOutLock": setting(tenant.protection.lock),
                "transferPinRequired": setting(tenant.protection.transfer_pin_required),
                "protectionUpdatedAt": tenant.protection.updated_at.map(clock::format),
                // Active transfer PINs: never the PIN or its hash.
                "transferPins": tenant
                    .transfer_pins
                    .iter()
                    .filter(|e| e.is_live(clock::now()))
                    .map(|e| json!({
                        "id": e.id,
                        "phoneNumbers": e.numbers,
                        "expiresAt": clock::format(e.expires_at),
                    }))
                    .collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&shown).expect("json"));
        }
        Command::Numbers(NumbersCommand::Add { tenant_id, numbers }) => {
            let tenant = TenantId::parse(&tenant_id).map_err(|e| e.to_string())?;
            // Parse every number before writing any: bad input changes nothing.
            let parsed = numbers
                .iter()
                .map(|n| PhoneNumber::parse(n).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            if store.get_tenant(&tenant).await.map_err(fail)?.is_none() {
                return Err(format!(
                    "tenant {tenant} not found: create it with `tenant put`"
                ));
            }
            // And look every number up before writing any: one owned by
            // another tenant refuses the whole command. (The write is still
            // conditional, so a number taken meanwhile is never stolen.)
            for number in &parsed {
                let owner = store.number_owner(number).await.map_err(fail)?;
                if owner.is_some_and(|o| o != tenant) {
                    return Err(format!(
                        "{number} belongs to another tenant: nothing was added"
                    ));
                }
            }
            for number in &parsed {
                match store.add_number(&tenant, number, now).await.map_err(fail)? {
                    AddOutcome::Added => println!("{number} added"),
                    AddOutcome::AlreadyOwned => println!("{number} already on the account"),
                    AddOutcome::OwnedByOther => {
                        return Err(format!("{number} belongs to another tenant"))
                    }
                }
            }
        }
        Command::Carrier(command) => carrier(&store, command, now).await?,
        Command::DevToken { .. } => unreachable!("handled before the table is needed"),
        Command::Numbers(NumbersCommand::List { tenant_id }) => {
            let tenant_id = TenantId::parse(&tenant_id).map_err(|e| e.to_string())?;
            let now = clock::now();
            for n in store.list_numbers(&tenant_id).await.map_err(fail)? {
                let mut line = n.number.to_string();
                let lock = n.lock.view(now);
                match lock.disable_at {
                    Some(at) => line.push_str(&format!("\tlocked until {}", clock::format(at))),
                    None if lock.enabled => line.push_str("\tlocked"),
                    None => {}
                }
                if let Some(id) = n.open_port_out_id {
                    line.push_str(&format!("\treserved by {id}"));
                }
                println!("{line}");
            }
        }
    }
    Ok(())
}

/// `carrier set-endpoint` and `carrier show` (contract §§8 and 14).
async fn carrier(store: &Store, command: CarrierCommand, now: Timestamp) -> Result<(), String> {
    let fail = |e: portguard_store::StoreError| e.to_string().replace('\n', " ");
    match command {
        CarrierCommand::SetEndpoint {
            carrier_id,
            url,
            rotate_secret,
        } => {
            let carrier = CarrierId::parse(&carrier_id).map_err(|e| e.to_string())?;
            let allow_loopback =
                portguard_api::config::allow_loopback_http().map_err(|e| e.to_string())?;
            let url = NotifyUrl::parse(&url, allow_loopback).map_err(|e| e.to_string())?;
            let target = Target::Carrier(carrier.clone());
            // The notifier derives the same secret from the same master key.
            let keys = portguard_secrets::EndpointKeys::from_env()
                .await
                .map_err(|e| format!("the endpoint secret key: {e}"))?;
            let mut rounds = portguard_store::retry_on_conflict(8);
            while rounds.next().await.is_some() {
                let read = store.get_endpoint(&target).await.map_err(fail)?;
                let new_secret = read.is_none() || rotate_secret;
                if let Some(ep) = &read {
                    if ep.url == url.as_str() && !new_secret {
                        println!("endpoint of carrier {carrier} unchanged: {}", ep.url);
                        return Ok(());
                    }
                }
                let issued = new_secret.then(|| keys.issue(&target.to_string()));
                let change = EndpointChange {
                    url: url.as_str(),
                    secret: issued.as_ref().map(|s| s.stored.as_str()),
                    now,
                };
                match store
                    .write_endpoint(&target, read.as_ref(), change, None)
                    .await
                    .map_err(fail)?
                {
                    Written::Done(()) => {
                        println!("endpoint of carrier {carrier} set: {}", url.as_str());
                        if let Some(issued) = issued {
                            let secret = issued.shown;
                            println!("signing secret (shown once, store it now): {secret}");
                        }
                        return Ok(());
                    }
                    Written::Conflict => {}
                }
            }
            Err("the endpoint kept changing; try again".into())
        }
        CarrierCommand::Show { carrier_id } => {
            let carrier = CarrierId::parse(&carrier_id).map_err(|e| e.to_string())?;
            let target = Target::Carrier(carrier);
            let ep = store
                .get_endpoint(&target)
                .await
                .map_err(fail)?
                .ok_or(format!("carrier {carrier_id} has no notification endpoint"))?;
            let shown = json!({
                "carrierId": carrier_id,
                "url": ep.url,
                "createdAt": ep.created_at,
                "updatedAt": ep.updated_at,
                "lastDeliveryAt": ep.last_delivery_at,
                "lastFailureAt": ep.last_failure_at,
                "lastFailure": ep.last_failure,
            });
            println!("{}", serde_json::to_string_pretty(&shown).expect("json"));
            Ok(())
        }
    }
}

/// Prints a development token for portguard-local-api (no table involved).
fn dev_token(
    tenant_id: Option<&str>,
    carrier_id: Option<&str>,
    key_file: &std::path::Path,
) -> Result<(), String> {
    use portguard_local_api::auth::{self, Authorizer, Subject};
    let subject = match (tenant_id, carrier_id) {
        (Some(t), None) => Subject::Tenant(t.to_string()),
        (None, Some(c)) => Subject::Carrier(c.to_string()),
        _ => return Err("give exactly one of --tenant-id and --carrier-id".into()),
    };
    let (Subject::Tenant(id) | Subject::Carrier(id)) = &subject;
    if !auth::valid_subject_id(id) {
        return Err("an id is 1 to 64 of A-Z a-z 0-9 - _ .".into());
    }
    let authorizer = Authorizer::dev_from_file(key_file)?;
    println!(
        "{}",
        authorizer.sign(&auth::dev_claims(&subject, auth::now()))?
    );
    Ok(())
}
