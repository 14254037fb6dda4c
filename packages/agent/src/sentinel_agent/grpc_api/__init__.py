"""gRPC API (contract §3): the live alert stream ``ebpfsentinel.v1.AlertStreamService``.

The stubs in ``_generated`` come from ``proto/ebpfsentinel/v1/alerts.proto`` via
``tools/gen_proto.sh``; a test fails when they are stale.
"""

from sentinel_agent.grpc_api.server import GrpcAlertServer

__all__ = ["GrpcAlertServer"]
