//! The generated `ReportingService` trait, implemented over the service's operations.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use rti_platform::auth::Principal;
use rti_platform::error::{ErrorCode, FailedPrecondition, InvalidInput, Violations};
use rti_platform::events::{EventStream, Outbox};
use rti_platform::server::caller;
use rti_proto::common::SubscribeRequest;
use rti_proto::reporting as proto;
use rti_proto::reporting::reporting_service_server::ReportingService as Api;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use super::convert;
use crate::domain::query::StatisticsQuery;
use crate::domain::usage::UsageRecord;
use crate::service::{ReportingService, StatisticsRows};
use crate::store::RecordOutcome;

type Reply<T> = Result<Response<T>, Status>;
type Rows<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Records read from an `IngestUsage` stream before they are checked and written together.
const INGEST_BATCH: usize = 2_000;
/// Records of an `IngestUsage` stream on their way to be written, with their positions in it.
#[derive(Debug, Default)]
struct Batch {
    positions: Vec<i64>,
    records: Vec<UsageRecord>,
}

/// Rejections listed in an ingest summary at most (all are counted).
const MAX_LISTED_REJECTIONS: usize = 1_000;
/// CSV text per streamed chunk, roughly.
const CSV_CHUNK_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct ReportingApi {
    service: ReportingService,
    outbox: Outbox,
    stopping: CancellationToken,
}

impl ReportingApi {
    pub fn new(service: ReportingService, outbox: Outbox, stopping: CancellationToken) -> Self {
        Self {
            service,
            outbox,
            stopping,
        }
    }
}

/// The rows of a query the caller may see, checked and protected.
async fn statistics(
    service: &ReportingService,
    caller: &Principal,
    request: proto::QueryUsageStatisticsRequest,
) -> Result<(StatisticsQuery, StatisticsRows), Status> {
    let query = StatisticsQuery::parse(convert::query_input(request))?;
    let rows = service.statistics(caller, &query).await?;
    Ok((query, rows))
}

#[tonic::async_trait]
impl Api for ReportingApi {
    type SubscribeStream = EventStream;
    type QueryUsageStatisticsStream = Rows<proto::StatisticsRow>;
    type ExportStatisticsCsvStream = Rows<proto::CsvChunk>;

    async fn subscribe(&self, request: Request<SubscribeRequest>) -> Reply<Self::SubscribeStream> {
        let stream = self.outbox.subscribe(request.into_inner(), self.stopping.clone())?;
        Ok(Response::new(stream))
    }

    async fn record_usage(&self, request: Request<proto::RecordUsageRequest>) -> Reply<proto::RecordUsageResponse> {
        let caller = caller(&request)?;
        let sent = request.into_inner().record.unwrap_or_default();
        let mut violations = Violations::new();
        let record = convert::usage_record(&sent, "record.", &mut violations);
        violations.into_result()?;
        let Some(record) = record else {
            return Err(InvalidInput::single("record", "is required").into());
        };
        let outcome = self
            .service
            .record_usage(&caller, std::slice::from_ref(&record))
            .await?;
        match outcome.outcomes.into_iter().next() {
            Some(RecordOutcome::Created) => Ok(Response::new(proto::RecordUsageResponse {
                record_id: record.record_id,
                created: true,
            })),
            Some(RecordOutcome::Unchanged) => Ok(Response::new(proto::RecordUsageResponse {
                record_id: record.record_id,
                created: false,
            })),
            Some(RecordOutcome::Conflict) => Err(ErrorCode::AlreadyExists.status(format!(
                "record {} was recorded with other values; a record id is used once",
                record.record_id
            ))),
            Some(RecordOutcome::NotYours) => Err(ErrorCode::PermissionDenied.status(format!(
                "installation {} is not run by an infrastructure your token lists",
                record.installation_id
            ))),
            Some(RecordOutcome::Refused(refusal)) => {
                let mut violations = Violations::new();
                violations.add(format!("record.{}", refusal.field), refusal.reason);
                Err(FailedPrecondition::from(violations).into())
            }
            None => Err(ErrorCode::Internal.status("the record was not processed")),
        }
    }

    async fn ingest_usage(&self, request: Request<Streaming<proto::UsageRecord>>) -> Reply<proto::IngestUsageSummary> {
        let caller = caller(&request)?;
        let mut stream = request.into_inner();
        // Reading and converting the next batch overlaps with checking and writing the last.
        let (batches, mut pending) = tokio::sync::mpsc::channel::<Batch>(1);
        let read = async move {
            let mut summary = proto::IngestUsageSummary::default();
            let mut batch = Batch::default();
            let mut index = 0i64;
            while let Some(sent) = stream.message().await? {
                summary.received += 1;
                let mut violations = Violations::new();
                match convert::usage_record(&sent, "", &mut violations) {
                    Some(record) => {
                        batch.positions.push(index);
                        batch.records.push(record);
                    }
                    None => {
                        for violation in violations.as_slice().iter().take(1) {
                            reject(
                                &mut summary,
                                &sent.record_id,
                                index,
                                &violation.field,
                                &violation.description,
                            );
                        }
                    }
                }
                index += 1;
                // A writer that failed has stopped listening; its error is the answer.
                if batch.records.len() >= INGEST_BATCH && batches.send(std::mem::take(&mut batch)).await.is_err() {
                    return Ok(summary);
                }
            }
            if !batch.records.is_empty() {
                let _ = batches.send(batch).await;
            }
            Ok::<_, Status>(summary)
        };
        // The writer runs on a task of its own, so that checking and writing one batch runs in
        // parallel with decoding the next, not merely interleaved with it.
        let service = self.service.clone();
        let write = tokio::spawn(async move {
            let mut summary = proto::IngestUsageSummary::default();
            while let Some(batch) = pending.recv().await {
                let outcome = service.record_usage(&caller, &batch.records).await?;
                for ((position, record), outcome) in batch.positions.iter().zip(&batch.records).zip(outcome.outcomes) {
                    let (field, reason) = match outcome {
                        RecordOutcome::Created => {
                            summary.created += 1;
                            continue;
                        }
                        RecordOutcome::Unchanged => {
                            summary.unchanged += 1;
                            continue;
                        }
                        RecordOutcome::Conflict => (
                            "record_id",
                            "was recorded with other values; a record id is used once".to_owned(),
                        ),
                        RecordOutcome::NotYours => (
                            "installation_id",
                            "is not run by an infrastructure your token lists".to_owned(),
                        ),
                        RecordOutcome::Refused(refusal) => (refusal.field, refusal.reason),
                    };
                    reject(&mut summary, &record.record_id, *position, field, &reason);
                }
            }
            Ok::<_, Status>(summary)
        });
        let (read, write) = futures::join!(read, write);
        let write = write.map_err(|error| Status::internal(format!("the usage writer stopped: {error}")))?;
        let (read, write) = (read?, write?);
        let mut rejections = read.rejections;
        rejections.extend(write.rejections);
        rejections.sort_by_key(|rejection| rejection.index);
        rejections.truncate(MAX_LISTED_REJECTIONS);
        Ok(Response::new(proto::IngestUsageSummary {
            received: read.received,
            created: write.created,
            unchanged: write.unchanged,
            rejected: read.rejected + write.rejected,
            rejections,
        }))
    }

    async fn query_usage_statistics(
        &self,
        request: Request<proto::QueryUsageStatisticsRequest>,
    ) -> Reply<Self::QueryUsageStatisticsStream> {
        let caller = caller(&request)?;
        let (_, rows) = statistics(&self.service, &caller, request.into_inner()).await?;
        let stream = futures::stream::iter(rows.into_iter().map(|row| Ok(convert::row(row))));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn export_statistics_csv(
        &self,
        request: Request<proto::QueryUsageStatisticsRequest>,
    ) -> Reply<Self::ExportStatisticsCsvStream> {
        let caller = caller(&request)?;
        let (query, rows) = statistics(&self.service, &caller, request.into_inner()).await?;
        let header = convert::csv_header(&query.group_by, &query.measures);
        let mut lines = std::iter::once(header).chain(rows.map(|row| convert::csv_row(&row)));
        // Chunks of whole lines, each made as the client reads: rows are not all held at once.
        let chunks = std::iter::from_fn(move || {
            let mut text = String::new();
            for line in lines.by_ref() {
                text.push_str(&line);
                if text.len() >= CSV_CHUNK_BYTES {
                    break;
                }
            }
            (!text.is_empty()).then(|| Ok(proto::CsvChunk { text }))
        });
        Ok(Response::new(futures::stream::iter(chunks).boxed()))
    }

    async fn get_infrastructures_tables(
        &self,
        request: Request<proto::GetInfrastructuresTablesRequest>,
    ) -> Reply<proto::InfrastructuresTables> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        let grant =
            rti_platform::validate::text(&request.grant_agreement, "grant_agreement", 64, true, &mut violations);
        let (from, to) = convert::period(request.from.as_ref(), request.to.as_ref(), &mut violations);
        violations.into_result()?;
        let tables = self.service.infrastructures_tables(&caller, &grant, from, to).await?;
        Ok(Response::new(proto::InfrastructuresTables {
            grant_agreement: grant,
            researchers: tables.researchers.into_iter().map(convert::researcher_access).collect(),
            installations: tables
                .installations
                .into_iter()
                .map(convert::installation_access)
                .collect(),
        }))
    }

    async fn get_installation_kpis(
        &self,
        request: Request<proto::GetInstallationKpisRequest>,
    ) -> Reply<proto::InstallationKpis> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let mut violations = Violations::new();
        rti_platform::validate::reference(&request.installation_id, "installation_id", &mut violations);
        let (from, to) = convert::period(request.from.as_ref(), request.to.as_ref(), &mut violations);
        violations.into_result()?;
        let kpis = self
            .service
            .installation_kpis(&caller, &request.installation_id, from, to)
            .await?;
        let rows = |rows: Vec<crate::service::StatisticsRow>| rows.into_iter().map(convert::row).collect();
        Ok(Response::new(proto::InstallationKpis {
            installation_id: request.installation_id,
            installation_name: kpis.site.name,
            totals: kpis.totals.map(convert::row),
            by_funding_scheme: rows(kpis.by_funding_scheme),
            by_home_country: rows(kpis.by_home_country),
            by_requester_type: rows(kpis.by_requester_type),
            screening: kpis.screening.into_iter().map(convert::screening_figure).collect(),
        }))
    }

    async fn import_researcher_counts(
        &self,
        request: Request<proto::ImportResearcherCountsRequest>,
    ) -> Reply<proto::ImportResearcherCountsResponse> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let source = rti_platform::validate::text(&request.source, "source", 300, true, &mut violations);
        if request.content.trim().is_empty() {
            violations.add("content", "is required: the file's text");
        }
        violations.into_result()?;
        let counts = self.service.import_researcher_counts(&request.content, &source).await?;
        let mut countries: Vec<String> = counts.iter().map(|count| count.country.clone()).collect();
        countries.sort();
        countries.dedup();
        Ok(Response::new(proto::ImportResearcherCountsResponse {
            imported: counts.len() as i64,
            countries,
        }))
    }

    async fn list_researcher_counts(
        &self,
        request: Request<proto::ListResearcherCountsRequest>,
    ) -> Reply<proto::ListResearcherCountsResponse> {
        let country = request.into_inner().country;
        let country = if country.is_empty() {
            None
        } else {
            Some(
                rti_platform::country::normalize_country(&country)
                    .map_err(|error| InvalidInput::single("country", error.to_string()))?,
            )
        };
        let counts = self.service.researcher_counts(country.as_deref()).await?;
        Ok(Response::new(proto::ListResearcherCountsResponse {
            counts: counts.iter().map(convert::denominator).collect(),
        }))
    }
}

fn reject(summary: &mut proto::IngestUsageSummary, record_id: &str, index: i64, field: &str, reason: &str) {
    summary.rejected += 1;
    if summary.rejections.len() < MAX_LISTED_REJECTIONS {
        summary.rejections.push(proto::RejectedRecord {
            record_id: record_id.to_owned(),
            index,
            field: field.to_owned(),
            reason: reason.to_owned(),
        });
    }
}
