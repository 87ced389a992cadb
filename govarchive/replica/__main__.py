"""``python -m govarchive.replica [--port N]``: serve the replica until interrupted."""

from __future__ import annotations

import argparse
import time

from govarchive.replica.server import ReplicaServer


def main() -> None:
    """Serve the replica in the foreground."""
    parser = argparse.ArgumentParser(description="Serve the offline replica portals on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with ReplicaServer(port=args.port) as replica:
        print(f"replica serving {', '.join(replica.state.portals)} at {replica.url}")
        print(f"crawl with: scrapy crawl <portal> -s REPLICA_URL={replica.url}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
