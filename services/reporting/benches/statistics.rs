//! `cargo bench -p rti-reporting --bench statistics` (add `RTI_BENCH_POSTGRES_URL=postgres://…`
//! for PostgreSQL; `RTI_BENCH_RECORDS` to change the size, 1,000,000 by default;
//! `RTI_BENCH_QUERY_RUNS` the runs of each query, 30 by default: more to profile the query).
//!
//! Ingests usage records through `IngestUsage` (one client stream, as a bulk load would) and
//! runs a funder's typical query (home country × installation × quarter over a year: users and
//! units used) beside the same aggregate computed directly in SQL on the same data, on each
//! backend. The projections the records are checked against (5,000 granted proposals at 200
//! installations, 25 home countries) are written straight into the store first; only the
//! records and the queries go through the API. Prints one table; figures belong in
//! docs/benchmarks.md with this command.

use std::time::{Duration, Instant};

use futures::StreamExt;
use rti_platform::auth::{Claims, Role, mint_hs256};
use rti_platform::db::DatabaseUrl;
use rti_platform::server::ServiceConfig;
use rti_platform::testing::{TEST_SECRET, test_auth};
use rti_platform::time::timestamp_from_micros;
use rti_proto::reporting as proto;
use rti_proto::reporting::reporting_service_client::ReportingServiceClient;
use rti_reporting::domain::disclosure::{KeySecret, UnitKind, record_key};
use rti_reporting::{App, Options, Upstreams};
use sqlx::{AnyPool, Row};
use tokio_util::sync::CancellationToken;

const INSTALLATIONS: usize = 200;
const ORGANISATIONS: usize = 5_000;
const USERS_PER_ORGANISATION: usize = 10;
const COUNTRIES: [&str; 25] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "SE", "SI",
];
const KEY: [u8; 32] = *b"reporting-bench-fixed-key-secret";
const JAN_2026: i64 = 1_767_225_600_000_000;
const DAY: i64 = 86_400_000_000;
const YEAR: i64 = 365 * DAY;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let records: usize = std::env::var("RTI_BENCH_RECORDS")
        .ok()
        .map(|text| text.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let query_runs: usize = std::env::var("RTI_BENCH_QUERY_RUNS")
        .ok()
        .map(|text| text.parse())
        .transpose()?
        .unwrap_or(30);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // RTI_BENCH_DIR keeps the SQLite file, for a look at its query plans afterwards.
        let directory = tempfile::tempdir()?;
        let folder = std::env::var_os("RTI_BENCH_DIR").map_or_else(|| directory.path().to_owned(), Into::into);
        let mut backends = vec![("SQLite", DatabaseUrl::sqlite_file(&folder.join("reporting.db")))];
        if let Ok(server) = std::env::var("RTI_BENCH_POSTGRES_URL") {
            backends.push(("PostgreSQL", fresh_postgres(&server).await?));
        }
        println!("{records} usage records, {ORGANISATIONS} organisations, {INSTALLATIONS} installations");
        println!("| backend | ingest (records/s) | funder query p50 / p99 (ms) | direct SQL p50 / p99 (ms) | rows |");
        println!("|---|---|---|---|---|");
        for (name, url) in backends {
            run(name, url, records, query_runs).await?;
        }
        Ok(())
    })
}

async fn fresh_postgres(server: &str) -> Result<DatabaseUrl, Box<dyn std::error::Error>> {
    sqlx::any::install_default_drivers();
    let admin = AnyPool::connect(server).await?;
    let name = format!("rti_bench_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await?;
    let mut url = url::Url::parse(server)?;
    url.set_path(&name);
    Ok(url.as_str().parse()?)
}

async fn run(
    name: &str,
    url: DatabaseUrl,
    records: usize,
    query_runs: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let config = ServiceConfig::new("127.0.0.1:0".parse()?, url.clone(), test_auth());
    let nowhere: http::Uri = "http://127.0.0.1:9".parse()?;
    let upstreams = Upstreams {
        registry: nowhere.clone(),
        intake: nowhere.clone(),
        allocation: nowhere,
    };
    let options = Options {
        key_secret: Some(KEY),
        follow: false,
        ..Options::default()
    };
    let app = App::build_with(config, upstreams, options).await?;
    let address = app.local_addr();
    let shutdown = CancellationToken::new();
    let serving = tokio::spawn(app.run_until(shutdown.clone()));
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url.as_str()).await?;
    seed(&pool).await?;

    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))?
        .connect()
        .await?;
    let client = ReportingServiceClient::new(channel).max_decoding_message_size(64 << 20);
    let admin = token(Role::Admin, None);
    let started = Instant::now();
    let stream = futures::stream::iter((0..records).map(usage));
    let mut request = tonic::Request::new(stream);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {admin}").parse()?);
    let summary = client.clone().ingest_usage(request).await?.into_inner();
    let ingest = started.elapsed();
    assert_eq!(
        summary.created,
        i64::try_from(records)?,
        "every record is kept: {:?}",
        summary.rejections.first()
    );

    let funder = token(Role::Funder, None);
    let mut query_times = Vec::new();
    let mut rows = 0;
    for run in 0..query_runs + 3 {
        let started = Instant::now();
        let mut request = tonic::Request::new(funder_query());
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {funder}").parse()?);
        let mut answer = client.clone().query_usage_statistics(request).await?.into_inner();
        rows = 0;
        while let Some(row) = answer.next().await {
            row?;
            rows += 1;
        }
        if run >= 3 {
            query_times.push(started.elapsed());
        }
    }
    // The plain SQL aggregate runs on the records as a table of their own, indexed by period, as
    // a database built for SQL would hold them (the service keeps them as a journal of batches,
    // which the view usage_records unfolds: aggregating over the view would parse every batch).
    for statement in [
        "CREATE TABLE plain_usage AS SELECT * FROM usage_records",
        "CREATE INDEX plain_usage_by_period ON plain_usage (period_start)",
        "ANALYZE plain_usage",
    ] {
        sqlx::query(statement).execute(&pool).await?;
    }
    let mut direct_times = Vec::new();
    for run in 0..query_runs + 3 {
        let started = Instant::now();
        let found = sqlx::query(
            "SELECT home_country, installation_id, (month / 100) * 10 + ((month % 100) + 2) / 3 AS quarter, \
             COUNT(DISTINCT user_key), CAST(SUM(units_used) AS BIGINT) FROM plain_usage \
             WHERE period_start >= $1 AND period_start < $2 GROUP BY 1, 2, 3",
        )
        .bind(JAN_2026)
        .bind(JAN_2026 + YEAR)
        .fetch_all(&pool)
        .await?;
        let _: i64 = found.first().map(|row| row.try_get(4)).transpose()?.unwrap_or(0);
        if run >= 3 {
            direct_times.push(started.elapsed());
        }
    }
    println!(
        "| {name} | {:.0} | {} | {} | {rows} |",
        records as f64 / ingest.as_secs_f64(),
        percentiles(&mut query_times),
        percentiles(&mut direct_times),
    );
    shutdown.cancel();
    serving.await??;
    pool.close().await;
    Ok(())
}

fn percentiles(times: &mut [Duration]) -> String {
    times.sort();
    let at = |quantile: f64| {
        let rank = ((quantile * times.len() as f64).ceil() as usize).clamp(1, times.len());
        times[rank - 1].as_secs_f64() * 1000.0
    };
    format!("{:.1} / {:.1}", at(0.5), at(0.99))
}

fn token(role: Role, country: Option<&str>) -> String {
    let mut claims = Claims::new("bench", &[role], Duration::from_secs(3600));
    claims.eu = role == Role::Funder && country.is_none();
    claims.country = country.map(str::to_owned);
    mint_hs256(TEST_SECRET, &claims).expect("signs")
}

fn funder_query() -> proto::QueryUsageStatisticsRequest {
    proto::QueryUsageStatisticsRequest {
        group_by: vec!["home_country".into(), "installation".into(), "quarter".into()],
        measures: vec!["users".into(), "units_used".into()],
        filter: Some(proto::StatisticsFilter {
            from: Some(timestamp_from_micros(JAN_2026)),
            to: Some(timestamp_from_micros(JAN_2026 + YEAR)),
            ..proto::StatisticsFilter::default()
        }),
    }
}

/// Organisations of every country at every installation.
fn home_country(organisation: usize) -> &'static str {
    COUNTRIES[(organisation / INSTALLATIONS) % COUNTRIES.len()]
}

fn uuid(kind: u32, index: usize) -> String {
    format!("00000000-0000-7000-8000-{kind:04x}{index:08x}")
}

/// The projections: installations with their infrastructures and providers, and one granted
/// proposal per organisation at one installation.
async fn seed(pool: &AnyPool) -> Result<(), Box<dyn std::error::Error>> {
    let secret = KeySecret::from_bytes(KEY);
    let mut transaction = pool.begin().await?;
    for index in 0..INSTALLATIONS {
        let country = COUNTRIES[index % COUNTRIES.len()];
        sqlx::query("INSERT INTO providers (id, country) VALUES ($1, $2)")
            .bind(uuid(1, index))
            .bind(country)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("INSERT INTO infrastructures (id, provider_id, name) VALUES ($1, $2, $3)")
            .bind(uuid(2, index))
            .bind(uuid(1, index))
            .bind(format!("Infrastructure {index}"))
            .execute(&mut *transaction)
            .await?;
        sqlx::query("INSERT INTO installations (id, infrastructure_id, name, critical_areas) VALUES ($1, $2, $3, '')")
            .bind(uuid(3, index))
            .bind(uuid(2, index))
            .bind(format!("Installation {index}"))
            .execute(&mut *transaction)
            .await?;
    }
    for organisation in 0..ORGANISATIONS {
        let request = uuid(4, organisation);
        let organisation_id = uuid(5, organisation);
        sqlx::query(
            "INSERT INTO requests (id, lane, funding_scheme, organisation_id, org_rkey, request_rkey, home_country, \
             requester_type, confidential, status, submitted_at, submitted_month, decided_at, outcome, \
             screening_verdict, screening_held, screening_until, call_id) VALUES ($1, 'transnational', \
             'eu_transnational_access', $2, $3, $4, $5, 'university', 0, 'in_review', $6, 202601, $6, NULL, \
             'SCREENING_VERDICT_CLEAR', 0, NULL, '')",
        )
        .bind(&request)
        .bind(&organisation_id)
        .bind(i64::from(record_key(&secret, UnitKind::Organisation, &organisation_id)))
        .bind(i64::from(record_key(&secret, UnitKind::Request, &request)))
        .bind(home_country(organisation))
        .bind(JAN_2026)
        .execute(&mut *transaction)
        .await?;
        let installation = uuid(3, organisation % INSTALLATIONS);
        sqlx::query("INSERT INTO request_installations (request_id, installation_id, units) VALUES ($1, $2, 1000)")
            .bind(&request)
            .bind(&installation)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "INSERT INTO grants (request_id, installation_id, units, non_eu_majority, decided_at, month) \
             VALUES ($1, $2, 1000, 0, $3, 202601)",
        )
        .bind(&request)
        .bind(&installation)
        .bind(JAN_2026)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// The `index`th record: organisations in turn, ten users each, spread over the year.
fn usage(index: usize) -> proto::UsageRecord {
    let organisation = index % ORGANISATIONS;
    let round = index / ORGANISATIONS;
    let user = organisation * USERS_PER_ORGANISATION + round % USERS_PER_ORGANISATION;
    let day = i64::try_from((round * 37 + organisation) % 360).unwrap_or(0);
    let start = JAN_2026 + day * DAY;
    let remote = index.is_multiple_of(3);
    proto::UsageRecord {
        record_id: format!("bench-{index}"),
        access_request_id: uuid(4, organisation),
        installation_id: uuid(3, organisation % INSTALLATIONS),
        slot_id: String::new(),
        user_id: format!("user-{user}"),
        home_organisation_id: uuid(5, organisation),
        home_organisation_type: proto::OrganisationType::University as i32,
        home_country: home_country(organisation).to_owned(),
        period_start: Some(timestamp_from_micros(start)),
        period_end: Some(timestamp_from_micros(start + DAY)),
        units_used: 1 + i64::try_from(index % 4).unwrap_or(0),
        days_on_site: if remote { 0 } else { 1 },
        access_mode: if remote {
            proto::AccessMode::Remote
        } else {
            proto::AccessMode::Physical
        } as i32,
        eu_funded: true,
        new_user: round < USERS_PER_ORGANISATION,
    }
}
