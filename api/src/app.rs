//! Building and running the service. `Application::build` takes a configuration value, opens
//! everything, binds (port 0 picks a free port, as the tests do) and returns a handle;
//! `run_until_stopped` serves until SIGINT/SIGTERM, then drains and closes. `main` stays small.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::web::{self, Data};
use actix_web::{App, HttpServer};
use anyhow::Context as _;
use fengqiao_infra::demo::DemoLoaded;
use fengqiao_infra::storage::{LocalDiskStorage, S3Storage};
use fengqiao_infra::{Settings, cache, db, demo, keys};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::middleware::{rate_limit, request_context};
use crate::state::AppState;
use crate::tokens::{TokenKeys, TokenSettings};
use fengqiao_infra::wechat::WeChatClient;

/// Every documented route, registered once for the server and for the OpenAPI document.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/health")
            .service(crate::health::live)
            .service(crate::health::ready),
    )
    .service(
        scope::scope("/api/v1")
            .wrap(from_fn(rate_limit))
            // The nested /admin scope first: a scope matches by prefix, and the citizens' and
            // integrators' routes must not shadow it.
            .service(scope::scope("/admin").configure(crate::admin::routes))
            .configure(crate::citizen::routes)
            .configure(crate::open::routes)
            .configure(crate::public::routes)
            .service(crate::wechat_push::verify_url)
            .service(crate::wechat_push::receive),
    )
    // Open311 GeoReport v2 at the paths the standard's clients expect, under the same per-address
    // limit as the API.
    .service(
        scope::scope("/open311")
            .wrap(from_fn(rate_limit))
            .service(crate::open311::discovery)
            .service(crate::open311::services)
            .service(crate::open311::service_definition)
            .service(crate::open311::create_request)
            .service(crate::open311::list_requests)
            .service(crate::open311::get_request)
            .service(crate::open311::token),
    );
}

/// The word list always; WeChat's content-security check when WeChat is configured.
fn moderation_for(
    settings: &Settings,
    wechat: &Arc<WeChatClient>,
) -> Arc<dyn fengqiao_domain::ports::Moderation> {
    use fengqiao_infra::moderation::{Checks, WeChatModeration, WordList};
    let mut checks: Vec<Arc<dyn fengqiao_domain::ports::Moderation>> =
        vec![Arc::new(WordList::new(&settings.moderation.words))];
    if settings.moderation.wechat && !settings.wechat.appid.is_empty() {
        checks.push(Arc::new(WeChatModeration::new(wechat.clone())));
    }
    Arc::new(Checks(checks))
}

/// Everything the service runs on, from the settings: the database (migrated, demo data loaded
/// when asked), the cache, keys and adapters. Shared by `serve` and `worker`.
pub async fn build_state(
    settings: Settings,
) -> anyhow::Result<(AppState, Option<DemoLoaded>, String)> {
    settings.check_for_production()?;
    let db = db::connect(&settings)
        .await
        .context("opening the database")?;
    if settings.database.migrate_on_start {
        db::migrate_up(&db).await.context("applying migrations")?;
    }
    let demo = if settings.demo {
        demo::load_if_empty(&db)
            .await
            .context("loading demo data")?
    } else {
        None
    };
    let shared = cache::from_settings(&settings).context("configuring Redis")?;
    let jwt_secret = keys::jwt_secret(&settings)?;
    let keyring = keys::keyring(&settings).context("loading the personal-data keys")?;
    let tokens = TokenKeys::new(TokenSettings {
        kid: &settings.auth.jwt_key_id,
        secret: jwt_secret.expose().as_bytes(),
        retired: settings
            .auth
            .retired_jwt_keys
            .iter()
            .map(|k| (k.id.as_str(), k.secret.expose().as_bytes()))
            .collect(),
        issuer: &settings.auth.jwt_issuer,
        audience: &settings.auth.jwt_audience,
        access_ttl_secs: settings.auth.access_token_ttl_secs,
        client_ttl_secs: settings.auth.client_token_ttl_secs,
    });
    let wechat = Arc::new(
        WeChatClient::new(&settings.wechat, shared.cache.clone())
            .map_err(|e| anyhow::anyhow!("wechat.base_url: {e}"))?,
    );
    let backend = format!(
        "{} database, {} cache",
        match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => "PostgreSQL",
            _ => "SQLite",
        },
        shared.backend
    );
    let feeds = Arc::new(
        fengqiao_infra::feeds::FeedFetcher::new(Duration::from_secs(settings.feeds.timeout_secs))
            .map_err(|e| anyhow::anyhow!(e))?,
    );
    let state = AppState {
        db,
        shared,
        storage: match &settings.storage.s3 {
            Some(s3) => Arc::new(S3Storage::new(s3)?),
            None => Arc::new(LocalDiskStorage::new(settings.attachments_dir())),
        },
        crypto: Arc::new(keyring),
        moderation: moderation_for(&settings, &wechat),
        wechat,
        sms: Arc::new(
            fengqiao_infra::sms::SmsGateway::new(&settings.sms).map_err(|e| anyhow::anyhow!(e))?,
        ),
        webhooks: Arc::new(
            fengqiao_infra::webhooks::WebhookSender::new(Duration::from_secs(
                settings.messaging.webhook_timeout_secs,
            ))
            .map_err(|e| anyhow::anyhow!(e))?,
        ),
        tokens: Arc::new(tokens),
        metrics: Metrics::new()?,
        settings: Arc::new(settings),
        reference: Arc::default(),
        // Twenty numbers per trip to the counter: a twentieth of the counter's traffic, and
        // at most nineteen numbers skipped when an instance stops.
        tracking: Arc::new(db::petitions::TrackingNumbers::new(20)),
        views: Arc::default(),
        public_near: Arc::default(),
        feeds,
    };
    Ok((state, demo, backend))
}

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    jobs: crate::jobs::Jobs,
    dispatcher: Option<crate::dispatcher::Dispatcher>,
    demo: Option<DemoLoaded>,
    backend: String,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let (state, demo, backend) = build_state(settings).await?;

        let listener = TcpListener::bind((
            state.settings.server.host.as_str(),
            state.settings.server.port,
        ))
        .with_context(|| {
            format!(
                "binding {}:{}",
                state.settings.server.host, state.settings.server.port
            )
        })?;
        let port = listener.local_addr()?.port();
        let spec = crate::openapi::document();
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .into_utoipa_app()
                .app_data(Data::new(app_state.clone()))
                .app_data(web::PathConfig::default().error_handler(|e, _| {
                    ApiError::bad_request(
                        "invalid_path_parameter",
                        fengqiao_domain::Text::owned(
                            format!("路径参数格式不正确：{e}"),
                            format!("invalid path parameter: {e}"),
                        ),
                        None,
                    )
                    .into()
                }))
                .configure(routes)
                .into_app()
                .route("/metrics", web::get().to(crate::metrics::scrape))
                .service(web::redirect("/docs", "/docs/"))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/api-docs/openapi.json", spec.clone()))
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, ApiError>(ApiError::no_route())
                }))
                .wrap(from_fn(crate::deprecation::announce(
                    crate::deprecation::DEPRECATED,
                )))
                .wrap(from_fn(request_context))
        })
        .listen(listener)?
        .shutdown_timeout(state.settings.server.shutdown_timeout_secs);
        if let Some(workers) = state.settings.server.workers {
            server = server.workers(workers);
        }
        let jobs = crate::jobs::Jobs::start(state.clone());
        let dispatcher = state
            .settings
            .messaging
            .dispatcher
            .then(|| crate::dispatcher::Dispatcher::start(state.clone()));
        Ok(Self {
            port,
            server: server.run(),
            jobs,
            dispatcher,
            state,
            demo,
            backend,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The administrator the demo loader created, on the start that created it.
    pub fn demo_admin(&self) -> Option<&DemoLoaded> {
        self.demo.as_ref()
    }

    /// Human-readable description of the backends in use.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The base URL clients should use.
    pub fn public_url(&self) -> String {
        self.state
            .settings
            .server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}:{}", self.state.settings.server.host, self.port))
    }

    /// Serves until SIGINT or SIGTERM. In-flight requests get `server.shutdown_timeout_secs`
    /// to finish; then the database pool is closed and the function returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await?;
        let within = Duration::from_secs(self.state.settings.server.shutdown_timeout_secs);
        self.jobs.stop(within).await;
        if let Some(dispatcher) = self.dispatcher {
            dispatcher.stop(within).await;
        }
        tracing::info!("stopped taking requests and jobs; closing the database pool");
        let closing = self.state.db.close_by_ref();
        if tokio::time::timeout(Duration::from_secs(5), closing)
            .await
            .is_err()
        {
            tracing::warn!("the database pool did not close within 5 s");
        }
        Ok(())
    }
}
