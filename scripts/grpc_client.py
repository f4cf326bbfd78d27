#!/usr/bin/env python3
"""Talks to a running RTI Access gateway the way any reflection-based gRPC client would.

It knows nothing of RTI Access ahead of time: it lists the services through server reflection,
builds message classes from the descriptors the gateway serves, checks health per service, creates
a provider and an infrastructure with an admin token, reads the infrastructure back, and checks
that the same write is UNAUTHENTICATED without a token and PERMISSION_DENIED with a funder token.
With --search QUERY (against `rti up --demo`), it also searches the catalogue anonymously, as an SME
would, reads the availability of the first hits for the next 60 days, and lists the demo's access
requests with the admin token. With --statistics (against `rti up --demo`), it pulls the demo's year
of usage as the German funder and as the EC funder, grouped by home country and installation.

    pip install grpcio grpcio-reflection grpcio-health-checking
    python3 scripts/grpc_client.py 127.0.0.1:8080 --admin-token "$RTI_ADMIN_TOKEN" --funder-token "$RTI_FUNDER_TOKEN"

Exits non-zero, naming the failed check, when anything is not as expected.
"""

import argparse
import datetime
import os
import sys
import uuid

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

SERVICES = [
    "rti.registry.v1.RegistryService",
    "rti.intake.v1.IntakeService",
    "rti.allocation.v1.AllocationService",
    "rti.reporting.v1.ReportingService",
]
REGISTRY = "rti.registry.v1.RegistryService"
INTAKE = "rti.intake.v1.IntakeService"
REPORTING = "rti.reporting.v1.ReportingService"


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


class Dynamic:
    """Calls unary methods of a service known only through reflection."""

    def __init__(self, channel):
        self.channel = channel
        self.reflection = ProtoReflectionDescriptorDatabase(channel)
        self.pool = descriptor_pool.DescriptorPool(self.reflection)

    def call(self, service, method, body, token=None):
        """A unary method's answer, as a dictionary."""
        stub, request, metadata = self._prepare(self.channel.unary_unary, service, method, body, token)
        return json_format.MessageToDict(stub(request, metadata=metadata, timeout=10))

    def stream(self, service, method, body, token=None):
        """The messages of a server-streaming method, as dictionaries."""
        stub, request, metadata = self._prepare(self.channel.unary_stream, service, method, body, token)
        return [json_format.MessageToDict(response) for response in stub(request, metadata=metadata, timeout=30)]

    def _prepare(self, kind, service, method, body, token):
        method_descriptor = self.pool.FindServiceByName(service).FindMethodByName(method)
        request_class = message_factory.GetMessageClass(method_descriptor.input_type)
        response_class = message_factory.GetMessageClass(method_descriptor.output_type)
        stub = kind(
            f"/{service}/{method}",
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=response_class.FromString,
        )
        metadata = [("authorization", f"Bearer {token}")] if token else None
        return stub, json_format.ParseDict(body, request_class()), metadata


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", help="the gateway, e.g. 127.0.0.1:8080")
    parser.add_argument("--admin-token", default=os.environ.get("RTI_ADMIN_TOKEN"))
    parser.add_argument("--funder-token", default=os.environ.get("RTI_FUNDER_TOKEN"))
    parser.add_argument("--funder-ec-token", default=os.environ.get("RTI_FUNDER_EC_TOKEN"))
    parser.add_argument("--search", action="append", default=[], help="a query the demo catalogue must answer")
    parser.add_argument("--statistics", action="store_true", help="pull the demo's usage statistics")
    args = parser.parse_args()
    if not args.admin_token or not args.funder_token:
        sys.exit("give --admin-token and --funder-token (or RTI_ADMIN_TOKEN and RTI_FUNDER_TOKEN)")

    channel = grpc.insecure_channel(args.address)
    dynamic = Dynamic(channel)

    listed = set(dynamic.reflection.get_services())
    for service in SERVICES:
        check(service in listed, f"reflection lists {service}")

    health = health_pb2_grpc.HealthStub(channel)
    for service in SERVICES:
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
        check(status == health_pb2.HealthCheckResponse.SERVING, f"{service} is SERVING")

    provider = dynamic.call(
        REGISTRY,
        "CreateProvider",
        {"requestId": str(uuid.uuid4()), "provider": {"name": "Python client lab", "country": "IT"}},
        args.admin_token,
    )
    infrastructure = {
        "providerId": provider["id"],
        "name": "Python client infrastructure",
        "kind": "INFRASTRUCTURE_KIND_TECHNOLOGY",
        "structure": "INFRASTRUCTURE_STRUCTURE_SINGLE_SITED",
        "countries": ["IT"],
    }
    created = dynamic.call(REGISTRY, "CreateInfrastructure", {"infrastructure": infrastructure}, args.admin_token)
    check(bool(created.get("id")), "an admin creates an infrastructure")
    read = dynamic.call(REGISTRY, "GetInfrastructure", {"id": created["id"]})
    check(read == created, "the infrastructure reads back unchanged, without a token")

    for token, expected, who in [
        (None, grpc.StatusCode.UNAUTHENTICATED, "without a token"),
        (args.funder_token, grpc.StatusCode.PERMISSION_DENIED, "with a funder token"),
    ]:
        try:
            dynamic.call(REGISTRY, "CreateInfrastructure", {"infrastructure": infrastructure}, token)
            check(False, f"the write {who} is refused")
        except grpc.RpcError as error:
            check(error.code() == expected, f"the write {who} is {expected.name}")

    for query in args.search:
        search_and_read_availability(dynamic, query)
    if args.search:
        list_demo_requests(dynamic, args.admin_token)
    if args.statistics:
        if not args.funder_ec_token:
            sys.exit("--statistics needs --funder-ec-token (or RTI_FUNDER_EC_TOKEN)")
        pull_statistics(dynamic, args.funder_token, args.funder_ec_token)
    print("all checks passed")


def search_and_read_availability(dynamic, query):
    """Anonymous search, then each of the first hits' free units per day for 60 days."""
    found = dynamic.call(REGISTRY, "SearchInstallations", {"query": query, "pageSize": 3})
    hits = found.get("hits", [])
    check(len(hits) > 0, f"searching {query!r} finds demo installations ({found.get('totalHits')} in all)")
    now = datetime.datetime.now(datetime.timezone.utc)
    for hit in hits:
        installation = hit["installation"]
        availability = dynamic.call(
            REGISTRY,
            "GetAvailability",
            {
                "installationId": installation["id"],
                "from": now.isoformat().replace("+00:00", "Z"),
                "to": (now + datetime.timedelta(days=60)).isoformat().replace("+00:00", "Z"),
            },
        )
        days = availability.get("days", [])
        free = sum(1 for day in days if int(day.get("freeUnits", 0)) > 0)
        check(len(days) >= 60, f"{installation['name']!r}: {len(days)} days of availability, {free} with free units")
        check("nextFreeWindow" in hit, f"{installation['name']!r} carries its next free window")


def list_demo_requests(dynamic, admin_token):
    """The demo's access requests, as an admin sees them: some, in more than one state."""
    listed = dynamic.call(INTAKE, "ListAccessRequests", {"pageSize": 500}, admin_token)
    requests = listed.get("accessRequests", [])
    statuses = sorted({request["status"].removeprefix("ACCESS_REQUEST_STATUS_") for request in requests})
    check(len(statuses) > 1, f"an admin lists the demo access requests, in states {', '.join(statuses)}")


def pull_statistics(dynamic, german_funder_token, ec_funder_token):
    """A year of the demo's usage by home country and installation: the German funder sees its
    users and its infrastructures' users, with small cells withheld and users per 1000 researchers
    naming their denominator's year; the EC funder sees every country."""
    query = {
        "groupBy": ["home_country", "installation"],
        "measures": ["users", "units_used", "users_per_1000_researchers"],
        "filter": {"from": "2025-12-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
    }
    german = dynamic.stream(REPORTING, "QueryUsageStatistics", query, german_funder_token)
    check(len(german) > 0, f"the German funder gets {len(german)} rows of a year of statistics")
    values = [value for row in german for value in row.get("values", [])]
    withheld = [value for value in values if "withheld" in value]
    check(len(withheld) > 0, f"{len(withheld)} of its {len(values)} values are withheld, never a number")
    check(all("integer" not in value and "decimal" not in value for value in withheld), "withheld values carry no number")
    normalised = [value for value in values if value["measure"] == "users_per_1000_researchers" and "decimal" in value]
    check(len(normalised) > 0, f"{len(normalised)} values are normalised per 1000 researchers")
    check(
        all(value.get("denominator", {}).get("year") and value["denominator"].get("source") for value in normalised),
        "every normalised value names its denominator's year and source "
        f"(e.g. {normalised[0]['denominator']['country']} {normalised[0]['denominator']['year']})",
    )
    german_countries = {row["groups"][0]["value"] for row in german}
    check("DE" in german_countries, f"the German funder sees German users (countries: {', '.join(sorted(german_countries))})")
    everyone = dynamic.stream(REPORTING, "QueryUsageStatistics", query, ec_funder_token)
    all_countries = {row["groups"][0]["value"] for row in everyone}
    check(
        len(all_countries) >= 12 and german_countries < all_countries,
        f"the EC funder sees every country ({len(all_countries)}), the German funder fewer",
    )


if __name__ == "__main__":
    main()
