"""PAN-OS syslog CSV column order per log type, after the seven common header columns
(``future, receive_time, serial, type, subtype, config_version, generated_time``).

Orders follow Palo Alto's "Syslog Field Descriptions" (PAN-OS 10.2/11.x); names follow
Elastic's ``panw`` integration (``panw.panos.<name>``). Names starting with ``_`` are
temporary columns that are mapped to ECS and not kept (``_srcuser``, ``_labels``...);
``None`` marks FUTURE_USE columns.
"""

from __future__ import annotations

_DEVICE = ("sequence_number", "action_flags", "device_group_hierarchy1", "device_group_hierarchy2",
           "device_group_hierarchy3", "device_group_hierarchy4", "vsys_name", "device_name")
_SRC_DST_PROFILE = (
    "src.category", "src.profile", "src.model", "src.vendor", "src.os.family", "src.os.version", "src.host", "src.mac",
    "dst.category", "dst.profile", "dst.model", "dst.vendor", "dst.os.family", "dst.os.version", "dst.host", "dst.mac",
)
_APP = ("application.sub_category", "application.category", "application.technology", "application.risk_level",
        "application.characteristics", "application.container")

TRAFFIC: tuple[str | None, ...] = (
    "source.ip", "destination.ip", "source.nat.ip", "destination.nat.ip", "ruleset", "_srcuser", "_dstuser",
    "network.application", "virtual_sys", "source.zone", "destination.zone", "inbound_interface", "outbound_interface",
    "log_profile", None, "flow_id", "repeat_count", "source.port", "destination.port", "source.nat.port",
    "destination.nat.port", "_labels", "protocol", "action", "network.bytes", "bytes_sent", "bytes_received",
    "network.packets", "start_time", "elapsed_time", "url.category", None, "sequence_number", "action_flags",
    "_srcloc", "_dstloc", None, "packets_sent", "packets_received", "endreason", "device_group_hierarchy1",
    "device_group_hierarchy2", "device_group_hierarchy3", "device_group_hierarchy4", "vsys_name", "device_name",
    "action_source", "source_vm_uuid", "destination_vm_uuid", "imsi", "imei", "parent_session.id",
    "parent_session.start_time", "tunnel_type", "sctp.assoc_id", "sctp.chunks", "sctp.chunks_sent",
    "sctp.chunks_received", "rule_uuid", "http2_connection", "link.change_count", "policy.id", "link.switches",
    "sdwan.cluster.name", "sdwan.device_type", "sdwan.cluster.type", "sdwan.site", "dynamic_user.group.name",
    "xff.ip", *_SRC_DST_PROFILE, "container.id", "pod.namespace", "pod.name", "src.external_dynamic_list",
    "dst.external_dynamic_list", "host.id", "serial_number", "src.dynamic_address_group",
    "dst.dynamic_address_group", "session.owner", "_high_res_timestamp", "nsdsai_sst", "nsdsai_sd", *_APP,
    "application.tunneled", "application.is_saas", "application.is_sanctioned", "is_offloaded",
)
THREAT: tuple[str | None, ...] = (
    "source.ip", "destination.ip", "source.nat.ip", "destination.nat.ip", "ruleset", "_srcuser", "_dstuser",
    "network.application", "virtual_sys", "source.zone", "destination.zone", "inbound_interface", "outbound_interface",
    "log_profile", "_logged_time", "flow_id", "repeat_count", "source.port", "destination.port", "source.nat.port",
    "destination.nat.port", "_labels", "protocol", "action", "misc", "threat.name", "url.category", "severity",
    "_direction", "sequence_number", "action_flags", "_srcloc", "_dstloc", None, "http_content_type",
    "network.pcap_id", "file.hash", "wildfire.name", "url_idx", "_user_agent", "file.type", "_forwarded_ip",
    "referrer", "sender", "subject", "recipient", "wildfire.report_id", "device_group_hierarchy1",
    "device_group_hierarchy2", "device_group_hierarchy3", "device_group_hierarchy4", "vsys_name", "device_name", None,
    "source_vm_uuid", "destination_vm_uuid", "http_method", "imsi", "imei", "parent_session.id",
    "parent_session.start_time", "tunnel_type", "threat_category", "content_version", None, "sctp.assoc_id",
    "payload_protocol_id", "http_headers", "url_category_list", "rule_uuid", "http2_connection",
    "dynamic_user.group.name", "xff.ip", *_SRC_DST_PROFILE, "container.id", "pod.namespace", "pod.name",
    "src.external_dynamic_list", "dst.external_dynamic_list", "host.id", "serial_number", "domain_edl",
    "src.dynamic_address_group", "dst.dynamic_address_group", "partial_hash", "_high_res_timestamp", "reason",
    "justification", "nssai_sst", *_APP, "application.tunneled", "application.is_saas",
    "application.is_sanctioned", "cloud_report.id",
)
SYSTEM: tuple[str | None, ...] = (
    "virtual_sys", "event.id", "object.id", None, None, "module", "severity", "description", *_DEVICE, None, None,
    "_high_res_timestamp",
)
CONFIG: tuple[str | None, ...] = (
    "host.ip", "virtual_sys", "cmd", "admin", "client_type", "result", "path", "before_change_detail",
    "after_change_detail", *_DEVICE, "device_group_id", "comment",
)
GLOBALPROTECT: tuple[str | None, ...] = (
    "virtual_sys", "event.id", "stage", "auth_method", "tunnel_type", "_srcuser", "_srcloc", "machine.name",
    "public.ip", "_public_ipv6", "private.ip", "_private_ipv6", "host.id", "serial_number", "client_ver",
    "client.os", "client.os_version", "repeat_count", "event.reason", "error_message", "description", "event.status",
    "location", "login_duration", "connect_method", "error_code", "portal", "sequence_number", "action_flags",
    "_high_res_timestamp", "selection_type", "response_time", "priority", "attempted_gateways", "gateway",
    "device_group_hierarchy1", "device_group_hierarchy2", "device_group_hierarchy3", "device_group_hierarchy4",
    "vsys_name", "device_name", "vsys_id",
)
HIPMATCH: tuple[str | None, ...] = (
    "_srcuser", "virtual_sys", "machine.name", "machine.os", "source.ip", "matchname", "repeat_count", "matchtype",
    None, None, "sequence_number", "action_flags", "device_group_hierarchy1", "device_group_hierarchy2",
    "device_group_hierarchy3", "device_group_hierarchy4", "vsys_name", "device_name", "vsys_id", "_source_ipv6",
    "host.id", "serial_number", "machine.mac_address", "_high_res_timestamp",
)
USERID: tuple[str | None, ...] = (
    "virtual_sys", "source.ip", "_srcuser", "datasourcename", "event.id", "repeat_count", "timeout", "source.port",
    "destination.port", "datasource", "datasourcetype", *_DEVICE, "vsys_id", "factortype", "factorcompletiontime",
    "factorno", "ugflags", "user_by_source", "tag.name", "_high_res_timestamp",
)
AUTHENTICATION: tuple[str | None, ...] = (
    "virtual_sys", "source.ip", "_user", "normalize_user", "object.id", "authentication.policy", "repeat_count",
    "authentication.id", "vendor", "log_profile", "server_profile", "description", "client_type", "event.result",
    "factorno", *_DEVICE, "vsys_id", "authentication.protocol", "rule_uuid", "_high_res_timestamp",
    *_SRC_DST_PROFILE[:8], "region", None, "_user_agent", "flow_id",
)
DECRYPTION: tuple[str | None, ...] = (
    "source.ip", "destination.ip", "source.nat.ip", "destination.nat.ip", "ruleset", "_srcuser", "_dstuser",
    "network.application", "virtual_sys", "source.zone", "destination.zone", "inbound_interface", "outbound_interface",
    "log_profile", "_logged_time", "flow_id", "repeat_count", "source.port", "destination.port", "source.nat.port",
    "destination.nat.port", "_labels", "protocol", "action", "tunnel_type", None, None, "source_vm_uuid",
    "destination_vm_uuid", "rule_uuid", "hs_stage_c2f", "hs_stage_f2s", "_tls", "tls.key_exchange_algorithm",
    "tls.encryption", "tls.auth", "policy.name", "elliptic_curve", "tls.error_type", "root_certificate_status",
    "chain_status", "proxy_type", "certificate.serial_number", "_hash", "certificate.not_before",
    "certificate.not_after", "certificate.version", "certificate.size", "subject_common_name.length",
    "issuer_common_name.length", "root_common_name.length", "server_name_indication.length", "certificate.flags",
    "subject_common_name.value", "issuer_common_name.value", "root_common_name.value", "server_name_indication.value",
    "error_message", "container.id", "pod.namespace", "pod.name", "src.external_dynamic_list",
    "dst.external_dynamic_list", "src.dynamic_address_group", "dst.dynamic_address_group", "_high_res_timestamp",
    *_SRC_DST_PROFILE, *_DEVICE, "vsys_id", *_APP, "application.tunneled", "application.is_saas",
    "application.is_sanctioned",
)
GTP: tuple[str | None, ...] = (
    "source.ip", "destination.ip", None, None, "ruleset", None, None, "network.application", "virtual_sys",
    "source.zone", "destination.zone", "inbound_interface", "outbound_interface", "log_profile", None, "flow_id", None,
    "source.port", "destination.port", None, None, None, "protocol", "action", "event_type", "msisdn",
    "access_point.name", "radio_access_technology_type", "message_type", "end_ip_address",
    "tunnel_endpoint.identifier1", "tunnel_endpoint.identifier2", "interface", "cause_code", "severity", "mcc", "mnc",
    "area_code", "cell.id", "event_code", None, None, "_srcloc", "_dstloc", None, None, None, None, None, None, None,
    "imsi", "imei", *([None] * 16), "start_time", "elapsed_time", "tunnel_inspection_rule", "remote_user.ip",
    "remote_user.id", "rule_uuid", "pcap_id", "_high_res_timestamp", "nsdsai_sst", "nsdsai_sd", *_APP,
    "application.is_saas", "application.is_sanctioned",
)
SCTP: tuple[str | None, ...] = (
    "source.ip", "destination.ip", None, None, "ruleset", None, None, None, "virtual_sys", "source.zone",
    "destination.zone", "inbound_interface", "outbound_interface", "log_profile", None, "flow_id", "repeat_count",
    "source.port", "destination.port", None, None, None, None, "protocol", "action", "device_group_hierarchy1",
    "device_group_hierarchy2", "device_group_hierarchy3", "device_group_hierarchy4", "vsys_name", "device_name",
    "sequence_number", None, "sctp.assoc_id", "payload_protocol_id", "severity", "sctp.chunk_type", None,
    "sctp.verification.tag_1", "sctp.verification.tag_2", "sctp.cause_code", "diameter_app_id", "diameter_cmd_code",
    "diameter_avp_code", "sctp.stream_id", "sctp.assoc_end_reason", "op_code", "sccp.calling_ssn", "sccp.calling_gt",
    "sctp.filter", "sctp.chunks", "sctp.chunks_sent", "sctp.chunks_received", "network.packets", "packets_sent",
    "packets_received", "rule_uuid", "_high_res_timestamp",
)
TUNNEL: tuple[str | None, ...] = (
    "source.ip", "destination.ip", "source.nat.ip", "destination.nat.ip", "ruleset", "_srcuser", "_dstuser",
    "network.application", "virtual_sys", "source.zone", "destination.zone", "inbound_interface", "outbound_interface",
    "log_profile", None, "flow_id", "repeat_count", "source.port", "destination.port", "source.nat.port",
    "destination.nat.port", "_labels", "protocol", "action", "severity", "sequence_number", "action_flags", "_srcloc",
    "_dstloc", "device_group_hierarchy1", "device_group_hierarchy2", "device_group_hierarchy3",
    "device_group_hierarchy4", "vsys_name", "device_name", "imsi", "imei", "parent_session.id",
    "parent_session.start_time", "tunnel_type", "network.bytes", "bytes_sent", "bytes_received", "network.packets",
    "packets_sent", "packets_received", "max_encapsulation", "unknown_protocol", "strict_check", "tunnel_fragment",
    "sessions.created", "sessions.closed", "endreason", "action_source", "start_time", "elapsed_time",
    "tunnel_inspection_rule", "remote_user.ip", "remote_user.id", "rule_uuid", "pcap_id", "dynamic_user.group.name",
    "src.external_dynamic_list", "dst.external_dynamic_list", "_high_res_timestamp", "nssai_sd", "nssai_sst",
    "pdu_session.id", *_APP, "application.is_saas", "application.is_sanctioned",
)
IPTAG: tuple[str | None, ...] = (
    "virtual_sys", "source.ip", "tag.name", "event.id", "repeat_count", "timeout", "datasourcename", "datasource_type",
    "datasource_subtype", *_DEVICE, "vsys_id", "_high_res_timestamp",
)
CORRELATION: tuple[str | None, ...] = (
    "source.ip", "_srcuser", "virtual_sys", "category", "severity", "device_group_hierarchy1",
    "device_group_hierarchy2", "device_group_hierarchy3", "device_group_hierarchy4", "vsys_name", "device_name",
    "vsys_id", "object_name", "object.id", "evidence",
)

LAYOUTS: dict[str, tuple[str | None, ...]] = {
    "TRAFFIC": TRAFFIC, "THREAT": THREAT, "SYSTEM": SYSTEM, "CONFIG": CONFIG, "GLOBALPROTECT": GLOBALPROTECT,
    "HIPMATCH": HIPMATCH, "HIP-MATCH": HIPMATCH, "USERID": USERID, "AUTHENTICATION": AUTHENTICATION,
    "DECRYPTION": DECRYPTION, "GTP": GTP, "SCTP": SCTP, "START": TUNNEL, "END": TUNNEL, "IPTAG": IPTAG,
    "CORRELATION": CORRELATION,
}
