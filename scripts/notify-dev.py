#!/usr/bin/env python3
"""Local notifications for `make dev` (contract §14).

  notify-dev.py receive [PORT]   a webhook receiver on 127.0.0.1:PORT (default 9900):
                                 prints each notification, verifies its signature
                                 when WHSEC is set (the secret from PUT
                                 /v1/notification-endpoint), answers 200
  notify-dev.py pump WATCH_URL   reads the table's stream on DynamoDB Local and
                                 invokes the notifier under `cargo lambda watch`
                                 with its records, as Lambda's event source
                                 mapping would; every minute the scheduled event
                                 runs the due retries

`pump` needs AWS_ENDPOINT_URL_DYNAMODB and TABLE_NAME, and boto3 (the project
venv .local/venv has it, through aws-sam-cli).
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer


def verify(secret: str, headers, body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        sig.split(",", 1)[-1] == expected for sig in headers.get("webhook-signature", "").split()
    )


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        secret = os.environ.get("WHSEC")
        check = "" if not secret else (" signature ok" if verify(secret, self.headers, body) else " BAD SIGNATURE")
        print(f"--- {self.headers.get('webhook-id')} at {self.headers.get('webhook-timestamp')}{check}")
        print(json.dumps(json.loads(body), indent=2), flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_):
        pass


def receive(port: int) -> None:
    print(f"receiving on http://127.0.0.1:{port}/hook", flush=True)
    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()


def invoke(watch_url: str, event: dict) -> str:
    req = urllib.request.Request(
        f"{watch_url}/2015-03-31/functions/notifier/invocations",
        data=json.dumps(event).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.read().decode()


def pump(watch_url: str) -> None:
    import boto3  # the project venv has it

    endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    table = os.environ["TABLE_NAME"]
    ddb = boto3.client("dynamodb", endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint)
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    iterators = {}
    next_schedule = time.time() + 60
    print(f"pumping {arn} into {watch_url} (notifier)", flush=True)
    while True:
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            sid = shard["ShardId"]
            if sid not in iterators:
                iterators[sid] = streams.get_shard_iterator(
                    StreamArn=arn, ShardId=sid, ShardIteratorType="LATEST"
                )["ShardIterator"]
        for sid, it in list(iterators.items()):
            if not it:
                continue
            page = streams.get_records(ShardIterator=it)
            iterators[sid] = page.get("NextShardIterator")
            records = []
            for r in page["Records"]:
                d = r["dynamodb"]
                records.append({
                    "eventID": r["eventID"], "eventName": r["eventName"], "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "eventSourceARN": arn,
                    "dynamodb": {
                        "ApproximateCreationDateTime": d["ApproximateCreationDateTime"].timestamp(),
                        "Keys": d["Keys"], "NewImage": d.get("NewImage", {}),
                        "SequenceNumber": d["SequenceNumber"], "SizeBytes": d["SizeBytes"],
                        "StreamViewType": "NEW_IMAGE",
                    },
                })
            if records:
                print(f"{len(records)} record(s) -> {invoke(watch_url, {'Records': records})}", flush=True)
        if time.time() >= next_schedule:
            now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            event = {"version": "0", "id": "dev", "detail-type": "Scheduled Event", "source": "aws.scheduler",
                     "account": "000000000000", "time": now, "region": "us-east-1", "resources": [], "detail": {}}
            print(f"retries at {now} -> {invoke(watch_url, event)}", flush=True)
            next_schedule += 60
        time.sleep(1)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "receive":
        receive(int(sys.argv[2]) if len(sys.argv) > 2 else 9900)
    elif len(sys.argv) == 3 and sys.argv[1] == "pump":
        pump(sys.argv[2].rstrip("/"))
    else:
        sys.exit(__doc__)
