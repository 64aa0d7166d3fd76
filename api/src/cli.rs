//! The `fengqiao` command line: `serve` (the default), `migrate`, `openapi`, `admin create-user`
//! and `check-config`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use fengqiao_domain::error::Validator;
use fengqiao_domain::identity::{NewPassword, Role, Roles, Username};
use fengqiao_domain::org::{NewOrgUnit, OrgCode, OrgKind, OrgName};
use fengqiao_infra::{Settings, db, password};

use crate::app::Application;

#[derive(Parser)]
#[command(
    name = "fengqiao",
    version,
    about = "Fengqiao 枫桥: the county mobile petition service"
)]
struct Cli {
    /// Configuration file (default: ./fengqiao.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Load demonstration data on first start (same as `demo = true`).
    #[arg(long, global = true)]
    demo: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Run only the outbox dispatcher (status push), beside instances that serve with
    /// `messaging.dispatcher = false`. Any number may run at once.
    Worker,
    /// Apply, roll back or list schema migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Administration tasks.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Print the effective configuration, secrets redacted.
    CheckConfig,
    /// Synthetic data for benchmarks.
    Seed {
        #[command(subcommand)]
        action: SeedAction,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
}

#[derive(Subcommand)]
enum SeedAction {
    /// Add synthetic petitions (tracking numbers `SEED…`) spread over the townships; needs the
    /// organisation tree (run once with `--demo` first).
    Petitions {
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Recompute the hash chain; exit non-zero at the first entry that does not hold.
    Verify,
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last migration (or `--steps N`).
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create a staff account (bootstraps the first administrator). Prints a generated password
    /// once unless `--password-stdin` is given.
    CreateUser {
        #[arg(long, default_value = "admin")]
        username: String,
        #[arg(long, default_value = "系统管理员")]
        display_name: String,
        /// Code of the account's organisation unit.
        #[arg(long, default_value = "410122")]
        org_code: String,
        /// Create the county root with this name when the organisation tree is empty.
        #[arg(long)]
        county_name: Option<String>,
        /// Roles (repeatable).
        #[arg(long = "role", default_value = "administrator")]
        roles: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fengqiao: {e}");
            return ExitCode::from(2);
        }
    };
    settings.demo |= cli.demo;
    crate::telemetry::init(&settings.log);
    let command = cli.command.unwrap_or(Command::Serve);
    let result = match command {
        Command::Openapi => {
            print!("{}", crate::openapi::document_json());
            Ok(())
        }
        Command::CheckConfig => check_config(&settings),
        other => run_async(other, settings),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fengqiao: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(settings: &Settings) -> anyhow::Result<()> {
    println!("{}", settings.to_redacted_toml());
    let problems = settings.unsafe_for_production();
    if settings.is_production() && !problems.is_empty() {
        anyhow::bail!("unsafe for production:\n  - {}", problems.join("\n  - "));
    }
    Ok(())
}

fn run_async(command: Command, settings: Settings) -> anyhow::Result<()> {
    // actix's system runtime drives the server; other commands run on it too.
    actix_web::rt::System::new().block_on(async move {
        match command {
            Command::Serve => serve(settings).await,
            Command::Worker => worker(settings).await,
            Command::Migrate { action } => migrate(settings, action).await,
            Command::Admin {
                action:
                    AdminAction::CreateUser {
                        username,
                        display_name,
                        org_code,
                        county_name,
                        roles,
                        password_stdin,
                    },
            } => {
                create_user(
                    settings,
                    CreateUser {
                        username,
                        display_name,
                        org_code,
                        county_name,
                        roles,
                        password_stdin,
                    },
                )
                .await
            }
            Command::Audit {
                action: AuditAction::Verify,
            } => audit_verify(settings).await,
            Command::Seed {
                action: SeedAction::Petitions { count },
            } => seed_petitions(settings, count).await,
            Command::Openapi | Command::CheckConfig => Ok(()),
        }
    })
}

async fn worker(settings: Settings) -> anyhow::Result<()> {
    let (state, _, backend) = crate::app::build_state(settings).await?;
    println!("Fengqiao worker is dispatching status messages ({backend})");
    let within = Duration::from_secs(state.settings.server.shutdown_timeout_secs);
    let dispatcher = crate::dispatcher::Dispatcher::start(state.clone());
    let mut terminate =
        actix_web::rt::signal::unix::signal(actix_web::rt::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
    tokio::select! {
        _ = actix_web::rt::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    dispatcher.stop(within).await;
    state.db.close_by_ref().await.ok();
    println!("Fengqiao worker stopped.");
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let dev_login = settings.dev_login_enabled();
    let production = settings.is_production();
    let app = Application::build(settings).await?;
    let url = app.public_url();
    println!("Fengqiao 枫桥 is serving ({})", app.backend());
    println!("  API:          {url}/api/v1");
    println!("  API docs:     {url}/docs/");
    println!("  OpenAPI:      {url}/api-docs/openapi.json");
    println!("  Health check: {url}/health/ready");
    if let Some(demo) = app.demo_admin() {
        println!();
        println!("Demo data loaded (marked 演示). Administrator, shown this once:");
        println!("  username: {}", demo.admin_username);
        println!("  password: {}", demo.admin_password);
    }
    if dev_login && !production {
        println!("Development login is enabled (auth.dev_login); production refuses it.");
    }
    app.run_until_stopped().await?;
    println!("Fengqiao stopped.");
    Ok(())
}

async fn migrate(settings: Settings, action: MigrateAction) -> anyhow::Result<()> {
    let conn = db::connect(&settings)
        .await
        .context("opening the database")?;
    match action {
        MigrateAction::Up => {
            db::migrate_up(&conn).await?;
            println!("migrations applied");
        }
        MigrateAction::Down { steps } => {
            db::migrate_down(&conn, Some(steps)).await?;
            println!("rolled back {steps} migration(s)");
        }
        MigrateAction::Status => {
            for (name, applied) in db::migration_status(&conn).await? {
                println!("{} {name}", if applied { "applied" } else { "pending" });
            }
        }
    }
    conn.close().await?;
    Ok(())
}

async fn seed_petitions(settings: Settings, count: u64) -> anyhow::Result<()> {
    use fengqiao_domain::org::OrgKind;
    use fengqiao_domain::pagination::PageLimit;
    let conn = db::connect(&settings)
        .await
        .context("opening the database")?;
    db::migrate_up(&conn).await?;
    let scope = fengqiao_domain::identity::OrgScope::All;
    let units = db::org::list(
        &conn,
        &scope,
        None,
        PageLimit::parse(Some(100)).map_err(|e| anyhow::anyhow!("{}", e.message.en))?,
        None,
    )
    .await?;
    let townships: Vec<uuid::Uuid> = units
        .items
        .iter()
        .filter(|u| matches!(u.kind, OrgKind::Township | OrgKind::Street))
        .map(|u| u.id)
        .collect();
    if townships.is_empty() {
        anyhow::bail!("no townships: start once with --demo (or create the tree) first");
    }
    let (citizen, _) =
        db::citizens::upsert_by_openid(&conn, "seed:benchmark", None, None, chrono::Utc::now())
            .await?;
    let bar = indicatif::ProgressBar::new(count);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} petitions {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    db::petitions::seed(&conn, count, 500, &townships, citizen.id, |done| {
        bar.set_position(done)
    })
    .await?;
    bar.finish();
    conn.close().await?;
    println!("seeded {count} petitions");
    Ok(())
}

async fn audit_verify(settings: Settings) -> anyhow::Result<()> {
    let conn = db::connect(&settings)
        .await
        .context("opening the database")?;
    let check = db::audit::verify(&conn).await?;
    conn.close().await?;
    match check {
        db::audit::ChainCheck::Intact { entries } => {
            println!("audit trail intact: {entries} entries");
            Ok(())
        }
        db::audit::ChainCheck::Broken { seq, reason } => {
            anyhow::bail!("audit trail broken at entry {seq}: {reason}")
        }
    }
}

struct CreateUser {
    username: String,
    display_name: String,
    org_code: String,
    county_name: Option<String>,
    roles: Vec<String>,
    password_stdin: bool,
}

async fn create_user(settings: Settings, args: CreateUser) -> anyhow::Result<()> {
    let mut v = Validator::new();
    let username = v.check("username", Username::parse(&args.username));
    let roles: Vec<Role> = args
        .roles
        .iter()
        .filter_map(|r| v.check("role", r.parse::<Role>()))
        .collect();
    let username = v.finish(|| username).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        (password::generate(), true)
    };
    let password = NewPassword::parse(&password, username.as_str())
        .map_err(|e| anyhow::anyhow!("{}", e.message.en))?;

    let conn = db::connect(&settings)
        .await
        .context("opening the database")?;
    db::migrate_up(&conn).await?;
    let hash = password::hash(password.expose())?;
    // The county (when made here), the account and its audit entry commit together.
    let txn = db::begin_write(&conn).await?;
    let org = match db::org::find_by_code(&txn, &args.org_code).await? {
        Some(org) => org,
        None if db::org::is_empty(&txn).await? => {
            let name = args.county_name.as_deref().ok_or_else(|| {
                anyhow::anyhow!(
                    "the organisation tree is empty: pass --county-name to create the county {}",
                    args.org_code
                )
            })?;
            let new = NewOrgUnit {
                code: OrgCode::parse(&args.org_code)
                    .map_err(|e| anyhow::anyhow!("{}", e.message.en))?,
                name: OrgName::parse(name).map_err(|e| anyhow::anyhow!("{}", e.message.en))?,
                kind: OrgKind::County,
                parent_id: None,
                sort_order: 0,
            };
            db::org::create(&txn, new, false).await?
        }
        None => anyhow::bail!("no organisation unit has the code {}", args.org_code),
    };
    let account = db::staff::create(
        &txn,
        db::staff::NewStaff {
            username: username.as_str().to_owned(),
            display_name: args.display_name,
            password_hash: hash,
            org_unit_id: org.id,
            roles: Roles::new(roles),
        },
        false,
    )
    .await?;
    db::audit::append_in(
        &txn,
        &db::audit::Actor::system(),
        &db::audit::Origin::default(),
        db::audit::Event::new("staff.created")
            .on("staff", account.id)
            .with(serde_json::json!({"via": "command line", "org_unit_id": org.id})),
        chrono::Utc::now(),
    )
    .await?;
    txn.commit().await?;
    conn.close().await?;
    println!(
        "created {} in {} ({})",
        account.username, org.name, org.code
    );
    if generated {
        println!("password (shown this once): {}", password.expose());
        if !std::io::stdout().is_terminal() {
            eprintln!("note: the password went to standard output; keep that output private");
        }
    }
    Ok(())
}
