#!/usr/bin/env python3
"""An independent Kafka client (kafka-python, a pure-Python implementation of the protocol)
publishes a seed-shaped command envelope to fee.commands and reads the resulting event back from
fee.events. Used by crates/ledger/tests/kafka_python.rs.

usage: roundtrip.py BROKERS COMMAND_ID COMMUNITY_ID
prints the event found (one JSON line) and exits 0, or exits 1 after 60 s.
"""

import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

# Pinning the protocol version skips kafka-python's version probe, which some brokers
# (librdkafka's mock cluster among them) do not answer the way it expects.
API_VERSION = (2, 5, 0)


def main() -> int:
    brokers, command_id, community = sys.argv[1], sys.argv[2], sys.argv[3]
    key = f"community:{community}"
    envelope = {
        "command_id": command_id,
        "type": "fee_config.create",
        "key": key,
        "actor": "kafka-python",
        "payload": {
            "configId": f"py-{command_id}",
            "feeTypeCd": "1001",
            "feeName": "物业费",
            "feeFlag": "Y",
            "startTime": "2023-01-01",
            "endTime": "2023-12-31",
            "computingFormula": "面积 * 单价 + 附加费",
            "squarePrice": 2.50,
            "additionalAmount": 100.00,
            "communityId": community,
            "billType": "MONTHLY",
        },
    }
    # kafka-python's default partitioner is Kafka's murmur2, the one the ledger uses.
    producer = KafkaProducer(bootstrap_servers=brokers, acks="all", api_version=API_VERSION)
    producer.send(
        "fee.commands",
        key=key.encode(),
        value=json.dumps(envelope, ensure_ascii=False).encode(),
    ).get(timeout=30)
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=brokers, enable_auto_commit=False, api_version=API_VERSION)
    partitions = consumer.partitions_for_topic("fee.events") or set()
    deadline = time.time() + 60
    while not partitions and time.time() < deadline:
        time.sleep(0.2)
        partitions = consumer.partitions_for_topic("fee.events") or set()
    consumer.assign([TopicPartition("fee.events", p) for p in partitions])
    consumer.seek_to_beginning()
    while time.time() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                # A record holds the events of one append to its partition, one per line.
                for line in record.value.split(b"\n"):
                    event = json.loads(line)
                    if event.get("command_id") == command_id:
                        print(json.dumps(event, ensure_ascii=False))
                        return 0
    print(f"no event for {command_id} on fee.events", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
