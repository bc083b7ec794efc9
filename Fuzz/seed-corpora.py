#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into CORPUS_DIR/<target>/.

Seeds come from the EventSauce fixtures (read in place from ../shared/fixtures/eventsauce
when present: stored payloads, times of recording, event types), the README's YAML config
examples, and a few hand-written inputs per target. libFuzzer adds what it finds to the same
folders, so later runs start from there.

    Fuzz/seed-corpora.py CORPUS_DIR
"""
import hashlib
import json
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
fixtures = root.parent / "shared" / "fixtures" / "eventsauce"
corpus = pathlib.Path(sys.argv[1])


def seed(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("seed-" + hashlib.sha1(data).hexdigest())).write_bytes(data)


# Stored rows and their times, as PHP wrote them.
event_types = set()
for rows in sorted(fixtures.glob("*/*/rows.jsonl")):
    for line in rows.read_text().splitlines()[:40]:
        row = json.loads(line)
        seed("EnvelopeDecoderFuzzer", row["payload"])
        seed("JSONParserFuzzer", row["payload"])
        if row.get("time_of_recording"):
            seed("PHPDateFormatFuzzer", "Y-m-d H:i:s.u\0" + row["time_of_recording"])
for decoded in sorted(fixtures.glob("*/*/decoded.json")):
    for row in json.loads(decoded.read_text())[:40]:
        for message in row["messages"]:
            event_types.add(message["event_type"])
            seed("PHPDateFormatFuzzer", message["time_of_recording"])
for event_type in sorted(event_types):
    seed("EventTypePatternFuzzer", event_type + "\0" + event_type)
    seed("EventTypePatternFuzzer", event_type.rsplit(".", 1)[0] + ".*\0" + event_type)

# The README's configuration examples.
readme = (root / "README.md").read_text()
for block in re.findall(r"```yaml\n(.*?)```", readme, re.S):
    seed("RelayConfigurationFuzzer", block)

# Hand-written inputs for what the fixtures do not cover.
for text in [
    '{"headers":{"__event_type":"a.b","__time_of_recording":"99999999999999999",'
    '"__time_of_recording_format":"U"},"payload":{}}',
    '{"headers":{"__aggregate_root_version":18446744073709551616},"payload":[]}',
    "[" * 600 + "]" * 600,
]:
    seed("EnvelopeDecoderFuzzer", text)
    seed("JSONParserFuzzer", text)
for text in ["U\0001714558830", "U.u\0001714558830.123456", "Y-m-d\\TH:i:sP\0002024-05-01T10:20:30+02:00"]:
    seed("PHPDateFormatFuzzer", text)
for text in ["*\0a.b", "acme.[a-m]?op.*\0acme.shop.x", "\\*\0*", "[!a-c]*\0d"]:
    seed("EventTypePatternFuzzer", text)
for text in [
    "postgres://relay:s3cret@db.example:5432/app?sslmode=verify-full&sslpassword=x",
    "host=/run/postgresql dbname=app password='it''s' sslpassword=x",
    "postgresql:host=db user=relay password=p/a:s@s",
    "https://hooks.slack.com/services/T000/B000/XXXXXXXX?token=abc#frag",
    "http://[::1]:8080/path?a=1&b=2",
]:
    seed("ConnectionStringFuzzer", text)
for text in [
    "source: {url: 'sqlite:./outbox.db', batch_size: 1e20}\nrelay: {poll_interval_max: inf}\n",
    "source: {url: env:OUTBOX_FUZZ_SECRET}\nrelay: {shutdown_grace_period: 99999999999999999999s}\n",
]:
    seed("RelayConfigurationFuzzer", text)
