"""The world's Athena (world/athena.py): moto's API with queries that really run, in DuckDB, over
the world's S3 — the StartQueryExecution / GetQueryExecution / GetQueryResults flow
`reconcile --engine athena` uses (Athena API Reference), its errors, and UNLOAD."""

from __future__ import annotations

import gzip

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from world.accounts import SOURCE

from .test_world import REGION, make_pair, s3, unique


def athena(world):
    return boto3.client(
        "athena", endpoint_url=world.url, region_name=REGION,
        aws_access_key_id=SOURCE.access_key_id, aws_secret_access_key=SOURCE.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


def run(client, sql, output):
    started = client.start_query_execution(
        QueryString=sql, WorkGroup="primary", QueryExecutionContext={"Database": "db"},
        ResultConfiguration={"OutputLocation": output},
    )
    execution = client.get_query_execution(QueryExecutionId=started["QueryExecutionId"])["QueryExecution"]
    return started["QueryExecutionId"], execution


@pytest.fixture()
def report(world):
    """A CSV inventory of a pair with one replicated object, its table created in Athena."""
    source, _ = make_pair(world)
    s3(world).put_object(Bucket=source, Key="a b+c.txt", Body=b"x")
    world.drain()
    reports, results = unique("reports"), unique("results")
    s3(world).create_bucket(Bucket=reports)
    s3(world).create_bucket(Bucket=results)
    written = world.control(f"/_world/inventory?bucket={source}&destination={reports}&prefix=inv", "POST")
    stamp = written["manifest_key"].split("/")[-2]
    dt = stamp[:10] + "-" + stamp[11:16]
    table = f"db.t_{unique('x').replace('-', '_')}"
    client = athena(world)
    ddl = (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {table} (\n  `bucket` string,\n  `key` string,\n  `version_id` string,\n"
        "  `is_latest` string,\n  `is_delete_marker` string,\n  `size` string,\n  `last_modified_date` string,\n"
        "  `e_tag` string,\n  `replication_status` string\n)\nPARTITIONED BY (dt string)\n"
        "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n"
        "STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'\n"
        f"OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\nLOCATION 's3://{reports}/inv/{source}/all-versions/hive/'"
    )
    _, execution = run(client, ddl, f"s3://{results}/q/")
    assert execution["Status"]["State"] == "SUCCEEDED", execution
    return {"client": client, "table": table, "dt": dt, "results": results, "source": source}


def test_a_query_runs_over_the_report_and_its_rows_come_back_header_first(world, report):
    client, results = report["client"], report["results"]
    sql = f"SELECT url_decode(key) AS key, replication_status FROM {report['table']} WHERE dt = '{report['dt']}'"
    exec_id, execution = run(client, sql, f"s3://{results}/q/")
    assert execution["Status"]["State"] == "SUCCEEDED", execution
    assert execution["Statistics"]["DataScannedInBytes"] > 0
    rows = client.get_query_results(QueryExecutionId=exec_id)["ResultSet"]["Rows"]
    values = [[cell.get("VarCharValue") for cell in row["Data"]] for row in rows]
    assert values == [["key", "replication_status"], ["a b+c.txt", "COMPLETED"]]
    # The result CSV is in the output location, as Athena writes it.
    body = s3(world).get_object(Bucket=results, Key=f"q/{exec_id}.csv")["Body"].read().decode()
    assert body.splitlines()[0] == '"key","replication_status"'


def test_unload_writes_the_rows_to_s3_and_refuses_a_location_that_holds_data(world, report):
    client, results = report["client"], report["results"]
    sql = (
        f"UNLOAD (SELECT bucket, key FROM {report['table']} WHERE dt = '{report['dt']}') "
        f"TO 's3://{results}/out/' WITH (format = 'TEXTFILE', field_delimiter = ',')"
    )
    _, execution = run(client, sql, f"s3://{results}/q/")
    assert execution["Status"]["State"] == "SUCCEEDED", execution
    keys = [o["Key"] for o in s3(world).list_objects_v2(Bucket=results, Prefix="out/")["Contents"]]
    text = gzip.decompress(s3(world).get_object(Bucket=results, Key=keys[0])["Body"].read()).decode()
    assert text == f"{report['source']},a+b%2Bc.txt\n"
    _, again = run(client, sql, f"s3://{results}/q/")
    assert again["Status"]["State"] == "FAILED"
    assert again["Status"]["StateChangeReason"].startswith("HIVE_PATH_ALREADY_EXISTS")


def test_failed_queries_say_why_and_a_missing_workgroup_is_refused(world, report):
    client, results = report["client"], report["results"]
    for sql, reason in [
        (f"SELECT nonsense FROM {report['table']} WHERE dt = '{report['dt']}'", "GENERIC_INTERNAL_ERROR"),
        ("SELECT key FROM db.no_such_table WHERE dt = 'x'", "TABLE_NOT_FOUND"),
        (f"SELECT key FROM {report['table']} WHERE dt = '{report['dt']}'", "Unable to verify/create output bucket"),
    ]:
        output = f"s3://{results}/q/" if "nonsense" in sql or "no_such" in sql else "s3://no-such-results-bucket/q/"
        _, execution = run(client, sql, output)
        assert execution["Status"]["State"] == "FAILED", (sql, execution)
        assert reason in execution["Status"]["StateChangeReason"], execution
    # Athena API Reference, StartQueryExecution: InvalidRequestException.
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        client.start_query_execution(QueryString="SELECT 1", WorkGroup="no-such-workgroup")
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
