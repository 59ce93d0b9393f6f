"""Cisco ASA and Firepower Threat Defense (FTD) syslog: ``%ASA-level-msgid: text`` / ``%FTD-...``.

The header may be a syslog header, the ASA's own ``logging timestamp`` (with a
zone abbreviation such as ``EDT``), a ``device-id`` host name, or nothing. The
message text is parsed per message id with patterns taken from Cisco's syslog
message guide and mirroring Elastic's ``cisco_asa`` pipeline (field names,
``event.action``/``type``/``outcome`` per id). Ids without a pattern still give
an event with code, severity, host and message. FTD security events
(430001-430005, ``Key: value, ...``) go to ``cisco.asa.security.*``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from . import syslog_header
from ._fw_common import IANA_TRANSPORT, TRANSPORT_IANA, add_list, clean_ip, community_id, is_ip, syslog_fields
from .base import ParseContext, ParseError

NAME = "cisco_asa"
DATASET = "cisco_asa.log"

_HDR = re.compile(r"%(?P<prod>ASA|FTD|PIX|FWSM)-(?:(?P<suffix>[^0-9\s-][^0-9-]*)-)?(?P<sev>[0-7])-(?P<id>\d{6})?:?\s*",
                  re.S)
_DATE = (r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +"
         r"(?P<day>\d{1,2})(?: (?P<year>\d{4}))? (?P<time>\d{1,2}:\d{2}:\d{2})(?P<frac>\.\d+)?"
         r"(?: (?P<tz>[A-Z]{2,5}|[+-]\d{2}:?\d{2}))?")
_PREFIX = re.compile(r"^\s*(?:(?P<proc>[^%\s:\[]+):\s+(?P<h1>[^\s:]+)\s*$|(?P<h2>[^\s:]+)?\s*:?\s*(?:" + _DATE + r")?:?\s*$)")
_TZ_ABBR: dict[str, int] = {  # minutes east of UTC
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120, "EET": 120, "EEST": 180,
    "MSK": 180, "IST": 330, "ICT": 420, "WIB": 420, "SGT": 480, "HKT": 480, "AWST": 480, "JST": 540, "KST": 540,
    "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300,
    "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
}
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"), 1)}
_LEVELS = ("emergency", "alert", "critical", "error", "warning", "notification", "informational", "debug")
_EXTRA_IANA = {"igp": "9", "pup": "12", "rdp": "27", "irtp": "28", "dccp": "33", "idpr": "35", "ipv6-route": "43",
               "ipv6-frag": "44", "rsvp": "46", "ipv6-nonxt": "59", "ipv6-opts": "60"}


def _d(pattern: str) -> re.Pattern[str]:
    """Turn an Elastic ``dissect`` pattern (``%{name}`` / ``%{}``) into an anchored regex."""
    out = []
    pos = 0
    for m in re.finditer(r"%\{([^}]*)\}", pattern):
        out.append(re.escape(pattern[pos:m.start()]))
        name = m.group(1)
        out.append(f"(?P<{name}>.*?)" if name else ".*?")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("^" + "".join(out) + r"\s*$", re.S)


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.S)


_EP = r"\S+?"  # endpoint "iface:addr/port", split later
_GUI = r"Group <(?P<grp>[^>]*)> User <(?P<su>[^>]*)> IP <(?P<sa>[^>]*)>"
_GUI2 = r"Group (?P<grp>\S+) User (?P<su>\S+) IP (?P<sa>\S+)"
_TEARDOWN = (r"^Teardown (?P<tr>\S+) (?:state-bypass )?connection (?P<cid>\S+) (?:for|from) (?P<S>[^\s(]+)"
             r"(?:\s*\((?P<us>[^)]*)\))?\s+to (?P<D>[^\s(]+)(?:\s*\((?P<ud>[^)]*)\))?\s+duration (?P<dur>\d+:\d+:\d+)"
             r" bytes (?P<nb>\d+)(?: (?P<reason>[^:(]*?)(?: from (?P<ti>[^:(]*?))?)?(?: \((?P<tu>[^)]*)\))?\s*$")
_FADDR = (r"^(?:Built|Teardown) (?:(?P<dir>inbound|outbound) )?(?P<tr>\S+) connection for faddr "
          r"(?:(?P<di>[^:\s]+):)?(?P<da>[^/\s]+)/\d+\s*(?:\([^)]*\) )?gaddr (?:[^:\s]+:)?(?P<nsa>[^/\s]+)/(?P<nsp>\d+) "
          r"laddr (?:(?P<si>[^:\s]+):)?(?P<sa>[^/\s]+)/\d+\s*(?:\([^)]*\))?(?:\s*type (?P<it>\d+) code (?P<ic>\d+))?")
_DYN = (r"^Dynamic [Ff]ilter \S+ (?P<color>black|white|grey)\S* (?P<tr>\S+) traffic from (?P<S>\S+) \((?P<NS>[^)]*)\) "
        r"to (?P<D>\S+) \((?P<ND>[^)]*)\),?\s*(?P<which>source|destination) \S+ resolved from (?P<list>\S+) list: "
        r"(?P<dom>[^,]*)(?:, threat-level: (?P<tl>[^,]*), category: (?P<tc>.*))?")
_SVC = [_r("^" + _GUI + r" (?P<reason>.*)$"), _r("^" + _GUI2 + r" (?P<reason>.*)$")]

#: message id -> patterns tried in order (named groups are mapped to ECS by ``_apply``).
PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "106001": [_d("%{dir} %{tr} connection denied from %{sa}/%{sp} to %{da}/%{dp} flags %{} on interface %{si}")],
    "106002": [_d("%{tr} Connection denied by %{dir} list %{list} src %{sa} dest %{da}")],
    "106006": [_d("Deny %{dir} %{tr} from %{sa}/%{sp} to %{da}/%{dp} on interface %{si}")],
    "106007": [_d("Deny %{dir} %{tr} from %{sa}/%{sp} to %{da}/%{dp} due to %{pr} %{}")],
    "106010": [_r(r"^Deny (?P<dir>\S+) (?:protocol (?P<iana>\d+)|(?P<tr>\S+)) src (?P<S>\S+) (?:.*?)?dst (?P<D>\S+)")],
    "106012": [_d("Deny IP from %{sa} to %{da}, %{reason}")],
    "106013": [_d("Dropping echo request from %{sa} to PAT address %{da}")],
    "106014": [_r(r"^Deny (?P<dir>\S+) (?P<tr>\S+) src (?P<S>\S+) (?:.*?)?dst (?P<D>[^\s(]+)"
                  r"(?:\s*\(type (?P<it>\d+), code (?P<ic>\d+)\))?")],
    "106015": [_r(r"^Deny (?P<tr>\S+) \S+ \S+ from (?P<S>\S+) to (?P<D>\S+) flags (?P<flags>.*?) "
                  r"on interface (?P<si>\S+)")],
    "106016": [_d("Deny IP spoof from (%{sa}) to %{da} on interface %{si}")],
    "106017": [_d("Deny IP due to Land Attack from %{sa} to %{da}")],
    "106018": [_d("%{tr} packet type %{it} denied by %{dir} list %{list} src %{sa} dest %{da}")],
    "106020": [_d("Deny IP teardrop fragment (size = %{}, offset = %{}) from %{sa} to %{da}")],
    "106021": [_d("Deny %{tr} reverse path check from %{sa} to %{da} on interface %{si}")],
    "106022": [_d("Deny %{tr} connection spoof from %{sa} to %{da} on interface %{si}")],
    "106023": [_r(r"^Deny (?:protocol (?P<iana>\d+)|(?P<tr>\S+)) src (?P<S>\S+?)\s*(?:\((?P<us>[^)]*)\) )?"
                  r"dst (?P<D>\S+?)(?:\s*\((?P<ud>[^)]*)\))?[(\s]+.*?by access-group \"(?P<list>[^\"]+)\"")],
    "106027": [_d('%{} Deny src %{sa} dst %{da} by access-group "%{list}"')],
    "106100": [_r(r"^access-list (?P<list>\S+) (?P<out>\S+) (?P<tr>\S+) (?P<si>[^/\s]+)/(?P<sa>[^(\s]+)\((?P<sp>\d+)\)"
                  r".*?-> (?P<di>[^/\s]+)/(?P<da>[^(\s]+)\((?P<dp>\d+)\)(?:.*?hit-cnt (?P<hits>\d+))?")],
    "106102": [_r(r"^access-list (?P<list>\S+) (?P<out>\S+) (?P<tr>\S+) for user (?P<u>\S+) (?P<si>[^/\s]+)/"
                  r"(?P<sa>[^(\s]+)\((?P<sp>\d+)\).*?-> (?P<di>[^/\s]+)/(?P<da>[^(\s]+)\((?P<dp>\d+)\)")],
    "106103": [_r(r"^access-list (?P<list>\S+) denied (?P<tr>\S+) for user (?P<u>\S+) (?P<si>[^/\s]+)/"
                  r"(?P<sa>[^(\s]+)\((?P<sp>\d+)\).*?-> (?P<di>[^/\s]+)/(?P<da>[^(\s]+)\((?P<dp>\d+)\)")],
    "110002": [_r(r"^(?P<reason>.*?) for (?P<tr>\S+) from (?P<S>\S+) to (?P<D>\S+)")],
    "111004": [_d("%{sa} end configuration: %{out}")],
    "111007": [_d("Begin configuration: %{sa} %{}")],
    "111009": [_r(r"^\S+ '(?P<svu>[^']+)' executed \S+ (?P<cmd>.*)$")],
    "111010": [_r(r"^User '(?P<svu>[^']+)', running '[^']*' from IP (?P<sa>[^,\s]+), executed (?P<cmd>'.*')")],
    "113004": [_r(r"^AAA user (?P<aaa>.*?) Successful\s*: server =\s*(?P<da>[^\s,]+)\s*[:,] [Uu]ser = (?P<su>\S+)")],
    "113005": [_r(r"^AAA user (?P<aaa>authentication|authorization) Rejected\s*: reason = (?P<rr>.*?)\s*: "
                  r"server = (?P<da>[^\s,]+)\s*[:,] [Uu]ser = ?(?P<su>[^:]*?)\s*: [Uu]ser IP = (?P<sa>\S+)")],
    "113008": [_r(r"^AAA transaction status ACCEPT\s*: user = (?P<su>.+)$")],
    "113009": [_r(r"^AAA retrieved default group policy \(?(?P<gp>[^)]*?)\)? for user =?\s*(?P<su>\S+)")],
    "113012": [_r(r"^AAA user authentication Successful\s*: local database\s*: [Uu]ser = (?P<su>\S+)")],
    "113015": [_r(r"^AAA user authentication Rejected\s*: reason = (?P<rr>.*?)\s*: local database\s*: "
                  r"[Uu]ser = (?P<su>\S+?)\s*: [Uu]ser IP = (?P<sa>\S+)")],
    "113019": [_d("Group = %{grp}, Username = %{su}, IP = %{da}, Session disconnected. Session Type: %{stype}, "
                  "Duration: %{dur}, Bytes xmt: %{sb}, Bytes rcv: %{db}, Reason: %{reason}")],
    "113021": [_d("Attempted console login failed. User %{su} did NOT have appropriate Admin Rights.")],
    "113022": [_d("AAA Marking %{pr} server %{da} in aaa-server group %{}")],
    "113023": [_d("AAA Marking %{pr} server %{da} in aaa-server group %{}")],
    "113040": [_r(r"^" + _GUI + r" Terminating the VPN connection attempt from <(?P<tg>[^>]*)>"),
               _r(r"^Terminating the VPN connection attempt from (?P<grp>\S+?)\.")],
    "302010": [_d("%{ciu} in use, %{cmu} most used")],
    "302013": [_r(r"^Built (?P<dir>\S+) (?P<tr>\S+) connection (?P<cid>\S+) for (?P<A>\S+) \((?P<NA>[^)]*)\)"
                  r"(?:\((?P<ua>[^)]*)\))? to (?P<B>\S+) \((?P<NB>[^)]*)\)(?:\((?P<ub>[^)]*)\))?"
                  r"(?: \((?P<tu>[^)]*)\))?")],
    "302020": [_FADDR_RE := _r(_FADDR)],
    "302021": [_FADDR_RE,
               _r(r"^Teardown (?P<tr>\S+) connection (?P<cid>\S+) (?:for|from) (?P<S>\S+) \((?P<NS>[^)\s]+/\d+)\) "
                  r"to (?P<D>\S+) \((?P<ND>[^)\s]+/\d+)\)(?: duration (?P<dur>\d+:\d+:\d+))?"),
               _r(_TEARDOWN)],
    "302022": [_r(r"^Built \S+ stub (?P<tr>\S+) connection for (?P<S>\S+) .*?to (?P<D>\S+)")],
    "302023": [_r(r"^Teardown stub (?P<tr>\S+) connection for (?P<S>\S+) to (?P<D>\S+) duration (?P<dur>\S+) "
                  r"forwarded bytes (?P<nb>\d+) (?P<reason>.*)$")],
    "303002": [_r(r"^(?P<pr>\S+) connection from (?P<S>\S+) to (?P<D>[^,\s]+), user (?P<cu>\S+) \S+ file (?P<fp>.*)$")],
    "304001": [_r(r"^(?:(?P<su>\S+)@)?(?P<sa>[0-9A-Fa-f.:]+)(?:\([^)]*\))? .*? (?:\S+@)?(?P<da>[^\s:]+):(?P<url>\S.*)$")],
    "304002": [_d("Access denied URL %{url} SRC %{sa} %{}EST %{da} on interface %{si}")],
    "305011": [_r(r"^Built \S+ (?P<tr>\S+) translation from (?P<S>\S+?)(?:\((?P<su>\S+)\))? to (?P<D>\S+)")],
    "305012": [_r(r"^Teardown .*?(?P<tr>\S+) translation from (?P<S>\S+?)(?:\s*\((?P<su>[^)]*)\))? to (?P<D>\S+) "
                  r"duration (?P<dur>\d+:\d+:\d+)")],
    "313001": [_d("Denied %{tr} type=%{it}, code=%{ic} from %{sa} on interface %{si}")],
    "313004": [_d("Denied %{tr} type=%{it}, from%{}addr %{sa} on interface %{si} to %{da}: no matching session")],
    "313005": [_r(r"^No matching connection for ICMP error message: (?P<tr>\S+) src (?P<si>[^:\s]*):\S+ "
                  r"dst (?P<di>[^:\s]*):\S+ \(type (?P<it>\d+), code (?P<ic>\d+)\) on [^:]*?interface\.\s*"
                  r"Original IP payload: (?:protocol (?P<oiana>\d+)|(?P<oproto>\S+)) src (?P<sa>[^/\s]+?)"
                  r"(?:/(?P<sp>\d+))? dst (?P<da>[^/\s]+?)(?:/(?P<dp>\d+))?\.?\s*$"),
               _r(r"^No matching connection for ICMP error message: (?P<tr>\S+) src (?P<si>[^:\s]*):\S+ "
                  r"dst (?P<di>[^:\s]*):\S+ \(type (?P<it>\d+), code (?P<ic>\d+)\)")],
    "313008": [_d("Denied %{tr} type=%{it}, code=%{ic} from %{sa} on interface %{si}")],
    "313009": [_r(r"^Denied invalid (?P<tr>\S+) code (?P<ic>\d+), for (?P<S>\S+) \((?P<NS>[^)]*)\) "
                  r"to (?P<D>\S+) \((?P<ND>[^)]*)\)")],
    "315011": [_d("SSH session from %{sa} on interface %{si} for user %{su} disconnected by SSH server, "
                  "reason: %{reason}")],
    "322001": [_d("Deny MAC address %{smac}, possible spoof attempt on interface %{si}")],
    "338301": [_d("Intercepted DNS reply for domain %{sd} from %{S} to %{D}, matched %{list}")],
    "401004": [_r(r"^Shunned packet: (?P<sa>\S+) =+>? (?P<da>\S+) on interface (?P<si>\S+)")],
    "419002": [_r(r"^(?P<reason>.*?)from (?P<S>\S+) to (?P<D>\S+) (?P<reason2>.*)$")],
    "420002": [_r(r"^IPS requested to drop (?P<tr>\S+) packet from (?P<S>\S+) to (?P<D>\S+)")],
    "421001": [_r(r"^(?P<tr>\S+) flow from (?P<S>\S+) to (?P<D>\S+) is dropped because (?P<reason>.*)$")],
    "421002": [_r(r"^(?P<tr>\S+) flow from (?P<S>\S+) to (?P<D>\S+) bypassed application checking because "
                  r"(?P<reason>.*)$")],
    "421007": [_r(r"^(?P<tr>\S+) flow from (?P<S>\S+) to (?P<D>\S+) is skipped because (?P<reason>.*)$")],
    "425005": [_d("Interface %{ifn} become active in redundant interface %{rifn}")],
    "434002": [_d("SFR requested to drop %{tr} packet from %{S} to %{D}")],
    "434004": [_r(r"^SFR requested \S+ to bypass further packet redirection and process (?P<tr>\S+) flow "
                  r"from (?P<S>\S+) to (?P<D>\S+) locally")],
    "502103": [_d("User priv level changed: Uname: %{svu} From: %{pold} To: %{pnew}")],
    "507003": [_d("%{tr} flow from %{S} to %{D} terminated by inspection engine, reason - %{reason}")],
    "602303": [_d("%{ntype}: An %{dir} %{tt} SA (SPI= %{}) between %{sa} and %{da} (user= %{u}) has been %{}.")],
    "602304": [_d("%{ntype}: An %{dir} %{tt} SA (SPI= %{}) between %{sa} and %{da} (user= %{u}) has been %{}.")],
    "605004": [_r(r"^Login \S+ from (?P<sa>[^/\s]+)/(?P<sp>\d+) to (?P<di>[^:\s]+):(?P<da>[^/\s]+)/(?P<pr>\S+) "
                  r"for user \"(?P<su>[^\"]*)\"")],
    "607001": [_r(r"^Pre-allocate SIP (?P<ctype>\S+) secondary channel for (?P<D>\S+) to (?P<S>\S+) "
                  r"from (?P<smsg>\S+) message")],
    "609001": [_r(r"^Built local-host (?P<si>[^:\s]+):(?P<sa>\S+)")],
    "609002": [_r(r"^Teardown local-host (?P<si>[^:\s]+):(?P<sa>\S+) duration (?P<dur>\S+)")],
    "611101": [_d("User authentication %{}: IP address: %{sa}, Uname: %{svu}")],
    "611103": [_d("User logged out: Uname: %{u}")],
    "710003": [_r(r"^(?P<tr>\S+) access denied by ACL from (?P<sa>[^/\s]+)/(?P<sp>\d+) to (?P<D>\S+)")],
    "710004": [_r(r"^(?P<tr>\S+) connection limit exceeded from (?P<sa>[^/\s]+)/(?P<sp>\d+) to (?P<D>\S+)")],
    "710005": [_r(r"^(?P<tr>\S+) request discarded from (?P<sa>[^/\s]+)/(?P<sp>\d+) to (?P<D>\S+)")],
    "713049": [_r(r"^Group = \S+, Username = (?P<u>\S+), IP = (?P<sa>[^,\s]+), Security negotiation complete"),
               _r(r"^Group = \S+, IP = (?P<sa>[^,\s]+), Security negotiation complete")],
    "713120": [_r(r"^Group = [^,]*, IP = (?P<sa>[^,\s]+), (?P<reason>.*?) \(msgid=(?P<evid>[^)]*)\)")],
    "713202": [_r(r"^IP = (?P<sa>[^,\s]+), (?P<reason>[^.]*)\. .* packet\.")],
    "716001": [_r("^" + _GUI + r" WebVPN session started"), _r("^" + _GUI2 + r" WebVPN session started")],
    "716002": [_r("^" + _GUI.replace("grp", "wgrp") + r" WebVPN session terminated: (?P<reason>.*?)\.?$"),
               _r("^" + _GUI2.replace("grp", "wgrp") + r" WebVPN session terminated: (?P<reason>.*?)\.?$")],
    "716003": [_r(r"^Group <(?P<wgrp>[^<>]+)> User <(?P<su>[^<>]+)> IP <(?P<sa>[^<>]+)> WebVPN access GRANTED: "
                  r"\"?(?P<url>.*?)\"?$")],
    "716039": [_r(r"^Authentication: rejected, group = (?P<grp>\S+) user = (?P<su>\S+) , Session Type: (?P<stype>\S+)"),
               _r("^" + _GUI + r" Authentication: rejected, Session Type: (?P<stype>[^.\s]+)")],
    "716058": [_r(r"^Group <(?P<wgrp>[^<>]+)> User <(?P<su>[^<>]+)> IP <(?P<sa>[^<>]+)>")],
    "716059": [_r(r"^Group <(?P<wgrp>[^<>]+)> User(?: <(?P<su>[^<>]+)>)? IP <(?P<da>[^<>]+)> AnyConnect session "
                  r"(?:resumed connection|resumed. Connection) from(?: IP)? <(?P<sa>\S+?)>\.$")],
    "721016": [_r(r"^\((?P<dtype>[^)]*)\) WebVPN session for client user (?P<su>\S+), IP\S* (?P<da>\S+) has been created")],
    "721018": [_r(r"^\((?P<dtype>[^)]*)\) WebVPN session for client user (?P<su>\S+), IP\S* (?P<da>\S+) has been deleted")],
    "722055": [_r("^" + _GUI + r" Client Type: (?P<ua>.*)$"), _r("^" + _GUI2 + r" Client Type: (?P<ua>.*)$")],
    "725001": [_r(r"^Starting SSL handshake with (?P<peer>\S+) (?P<si>[^:]*?):(?P<sa>[^/\s]+)/(?P<sp>\d+)"
                  r"(?: to (?P<da>[^/\s]+)/(?P<dp>\d+))? for (?P<tlsv>\S+) session")],
    "725002": [_r(r"^Device completed SSL handshake with (?P<peer>\S+) (?P<si>[^:]*?):(?P<sa>[^/\s]+)/(?P<sp>\d+) "
                  r"to (?P<da>[^/\s]+)/(?P<dp>\d+) for (?P<tlsv>\S+)")],
    "725007": [_r(r"^SSL session with (?P<peer>\S+) (?P<si>[^:]*?):(?P<sa>[^/\s]+)/(?P<sp>\d+) "
                  r"to (?P<da>[^/\s]+)/(?P<dp>\d+) terminated")],
    "725016": [_r(r"^Device selects trust-point (?P<tp>.*?) for (?P<peer>\S+) (?P<si>[^:]*?):(?P<sa>[^/\s]+)/"
                  r"(?P<sp>\d+) to (?P<da>[^/\s]+)/(?P<dp>\d+)$")],
    "733100": [_r(r"^\[\s*(?P<bobj>.*?)\s*\] drop (?P<bid>\S+) exceeded\. Current burst rate is (?P<bcur>\d+) per "
                  r"second, max configured rate is (?P<bconf>\d+); Current average rate is (?P<bavg>\d+) per second, "
                  r"max configured rate is (?P<bconfavg>\d+); Cumulative total count is (?P<bcum>\d+)")],
    "734001": [_r(r"^DAP: User (?P<email>[^,]+), Addr (?P<sa>[^,]+), Connection (?P<ctype>[^:]+): The following DAP "
                  r"records were selected for this connection: (?P<dap>.*)$")],
    "737003": [_r(r"^IPAA: (?:Session=(?P<sess>[^,]+), )?DHCP configured, no viable servers found for tunnel-group "
                  r"(?P<tg>\S+)$")],
    "737006": [_r(r"^IPAA: (?:Session=(?P<sess>[^,]+), )?Local pool request succeeded for tunnel-group (?P<tg>\S+)$")],
    "737016": [_r(r"^IPAA: (?:Session=(?P<sess>[^,]+), )?Freeing local pool (?P<pool>\S+) address (?P<paddr>\S+)$")],
    "737026": [_r(r"^IPAA: (?:Session=(?P<sess>[^,]+), )?Client assigned (?P<paddr>\S+) from local pool (?P<pool>\S+)$")],
    "737034": [_r(r"^IPAA: (?:Session=(?P<sess>[^,]+), )?(?P<reason>.*)$")],
    "750002": [_r(r"^Local:(?P<sa>\S+):(?P<sp>\d+) Remote:(?P<da>\S+):(?P<dp>\d+) Username:(?P<u>\S+) (?P<reason>.*)$")],
    "750003": [_r(r"^Local:(?P<sa>\S+):(?P<sp>\d+) Remote:(?P<da>\S+):(?P<dp>\d+) Username:(?P<u>\S+) (?P<reason>.*)$")],
    "805001": [_r(r"^Offloaded (?P<tr>\S+) Flow for connection (?P<cid>\S+) from (?P<S>\S+) \((?P<NS>[^)]*)\) "
                  r"to (?P<D>\S+) \((?P<ND>[^)]*)\)")],
    "805002": [_r(r"^(?P<tr>\S+) Flow is no longer offloaded for connection (?P<cid>\S+) from (?P<S>\S+) "
                  r"\((?P<NS>[^)]*)\) to (?P<D>\S+) \((?P<ND>[^)]*)\)")],
}
PATTERNS["302015"] = PATTERNS["302013"]
for _id in ("302014", "302016", "302018", "302036", "302304", "302306"):
    PATTERNS[_id] = [_r(_TEARDOWN)]
for _id in ("113029", "113030", "113031", "113032", "113033", "113034", "113035", "113036", "113038", "113039"):
    PATTERNS[_id] = [_r("^" + _GUI), _r("^" + _GUI2)]
for _id in ("722011", "722022", "722023", "722028", "722032", "722033", "722034", "722037", "722051"):
    PATTERNS[_id] = _SVC
PATTERNS["605005"] = PATTERNS["605004"]
PATTERNS["611102"] = PATTERNS["611101"]
PATTERNS["313008"] = PATTERNS["313001"]
for _id in ("338001", "338002", "338003", "338004", "338005", "338006", "338007", "338008", "338101", "338102",
            "338103", "338104", "338201", "338202", "338203", "338204"):
    PATTERNS[_id] = [_r(_DYN)]
for _id in ("713901", "713902", "713903", "713904", "713905", "713906"):
    PATTERNS[_id] = [_r(r"^(?:Group = [^,]*, )?(?:IP = (?P<sa>[^,\s]+), )?(?P<reason>.*)$")]
_IPS = _r(r"^IPS:(?P<sig>\d+) (?P<signame>.*?) from (?P<sa>\S+) to (?P<da>\S+) on interface (?P<si>\S+)")

_FW = {"type": ["connection", "denied"], "outcome": "failure", "action": "firewall-rule"}
_AUTH_OK = {"category": ["authentication", "network"], "type": ["allowed", "info"], "outcome": "success",
            "action": "logged-in"}
_AUTH_FAIL = {"category": ["authentication", "network"], "type": ["denied", "info"], "outcome": "failure",
              "action": "logon-failed"}
_START = {"type": ["connection", "start"], "outcome": "success", "action": "flow-creation"}
_END = {"type": ["connection", "end"], "outcome": "success", "action": "flow-expiration"}
_VPN_ERR = {"type": ["connection", "denied"], "outcome": "failure", "action": "client-vpn-error"}
_DYN_INFO = {"type": ["connection", "info"], "action": "dynamic-filter"}
_DYN_DENY = {"type": ["connection", "denied"], "outcome": "failure", "action": "dynamic-filter"}

#: message id -> ECS categorisation (Elastic's ``script_ecs_categorization`` table).
CATEGORIES: dict[str, dict[str, Any]] = {
    **{i: _FW for i in ("106001", "106002", "106006", "106007", "106010", "106012", "106013", "106014", "106015",
                        "106016", "106017", "106018", "106020", "106021", "106022", "106023", "106027", "106103",
                        "313001", "313004", "313005", "313008", "313009", "322001", "434002", "710003", "710005",
                        "710006", "420002", "401004", "421001")},
    "110002": {"type": ["connection", "info"], "outcome": "failure", "action": "firewall-rule"},
    "111007": {"category": ["configuration"], "type": ["info"], "outcome": "success", "action": "configuration"},
    "111009": {"category": ["configuration"], "type": ["info"], "outcome": "success", "action": "configuration"},
    "111010": {"category": ["configuration"], "type": ["change"], "outcome": "success", "action": "configuration"},
    **{i: _AUTH_OK for i in ("113004", "113008", "113009", "113012", "605005", "611101", "734001")},
    **{i: _AUTH_FAIL for i in ("113005", "113015", "113021", "605004", "611102", "716039")},
    "113019": {"type": ["connection", "end"], "action": "client-vpn-disconnected"},
    "113022": {"type": ["info"], "outcome": "failure", "action": "server-failed"},
    "113023": {"type": ["info"], "outcome": "success", "action": "server-active"},
    **{i: _VPN_ERR for i in ("113029", "113030", "113031", "113032", "113033", "113034", "113035", "113036",
                             "113037", "113038", "113040")},
    "113039": {"category": ["network", "session"], "type": ["connection", "start"], "action": "client-vpn-connected",
               "outcome": "success"},
    **{i: _START for i in ("302013", "302015", "302020", "302022", "302024", "302026", "609001")},
    **{i: _END for i in ("302016", "302018", "302021", "302023", "302025", "302027", "609002")},
    **{i: {"type": ["connection", "end"], "action": "flow-expiration"} for i in ("302014", "302036", "302304",
                                                                               "302306")},
    "303002": {"category": ["network", "file"], "type": ["access"], "outcome": "success", "action": "ftp"},
    "304001": {"type": ["access", "allowed"], "outcome": "success", "action": "url-access"},
    "304002": {"type": ["access", "denied"], "outcome": "failure", "action": "url-access"},
    "305011": {"category": ["network", "configuration"], "type": ["creation"], "outcome": "success",
               "action": "nat-slot"},
    "305012": {"category": ["network", "configuration"], "type": ["deletion"], "outcome": "success",
               "action": "nat-slot"},
    "315011": {"type": ["connection", "end"], "action": "ssh-session-ended"},
    **{i: _DYN_INFO for i in ("338001", "338002", "338003", "338004", "338101", "338102", "338103", "338104",
                              "338201", "338202")},
    **{i: _DYN_DENY for i in ("338005", "338006", "338007", "338008", "338203", "338204")},
    "338301": {"type": ["connection", "info"], "action": "firewall-rule"},
    "419002": {"type": ["connection", "info"], "action": "firewall-rule"},
    "425005": {"type": ["info"], "action": "interface-switchover"},
    "434004": {"type": ["info"], "action": "bypass"},
    "502103": {"category": ["iam"], "type": ["user", "change"], "outcome": "success",
               "action": "privilege-level-changed"},
    "507003": {"type": ["connection", "end"], "action": "flow-termination"},
    "602303": {"type": ["connection", "start"], "outcome": "success", "action": "sa-created"},
    "602304": {"type": ["connection", "end"], "outcome": "success", "action": "sa-deleted"},
    "607001": {"type": ["info"], "outcome": "success", "action": "firewall-rule"},
    "611103": {"category": ["authentication", "network"], "type": ["info"], "outcome": "success",
               "action": "logged-out"},
    "713049": {"type": ["connection", "start"], "outcome": "success", "action": "firewall-rule"},
    "713120": {"type": ["connection", "info"], "outcome": "success", "action": "firewall-rule"},
    "713202": {"type": ["connection", "info"], "action": "firewall-rule"},
    "713901": {"type": ["info"], "outcome": "failure", "action": "client-vpn-error"},
    "713902": {"type": ["info"], "outcome": "failure", "action": "client-vpn-error"},
    **{i: {"type": ["info"]} for i in ("713903", "713904", "713905", "713906", "722011", "733100")},
    "716001": {"type": ["connection", "start"], "outcome": "success", "action": "client-vpn-connected"},
    "716002": {"type": ["connection", "end"], "action": "client-vpn-disconnected"},
    "716003": {"category": ["authentication", "network"], "type": ["allowed", "info"], "outcome": "success"},
    "716058": {"type": ["connection", "end"], "action": "client-vpn-disconnected"},
    "716059": {"type": ["connection", "start"], "action": "client-vpn-resumed"},
    "721016": {"type": ["connection", "start"], "outcome": "success", "action": "client-vpn-connected"},
    "721018": {"type": ["connection", "end"], "outcome": "success", "action": "client-vpn-disconnected"},
    "722022": {"type": ["connection", "info"], "outcome": "success"},
    "722023": {"type": ["connection", "end"], "outcome": "success"},
    "722028": {"type": ["connection", "end"], "outcome": "success"},
    "722032": {"type": ["connection", "start"], "outcome": "success"},
    "722033": {"type": ["connection", "start"], "outcome": "success"},
    "722034": {"type": ["connection", "info"]},
    "722037": {"type": ["connection", "end"]},
    "722051": {"type": ["connection", "info"], "outcome": "success", "action": "address-assigned"},
    "722055": {"type": ["connection", "info"]},
    "725001": {"type": ["connection", "start"], "outcome": "success"},
    "725002": {"type": ["connection", "info"], "outcome": "success"},
    "725007": {"type": ["connection", "end"], "outcome": "failure"},
    "725016": {"type": ["connection", "info"], "outcome": "success"},
    "737003": {"type": ["connection", "info"], "outcome": "failure"},
    "737006": {"type": ["connection", "info"], "outcome": "success"},
    "737016": {"type": ["connection", "info"], "outcome": "success"},
    "737026": {"type": ["connection", "info"], "outcome": "success"},
    "737034": {"type": ["connection", "info"], "outcome": "failure"},
    "750002": {"type": ["connection", "start"], "outcome": "success", "action": "connection-started"},
    "750003": {"type": ["connection", "start"], "outcome": "failure"},
    "805001": {"type": ["connection", "start"], "outcome": "success", "action": "flow-offload-started"},
    "805002": {"type": ["connection", "end"], "outcome": "success", "action": "flow-offload-ended"},
}
#: 106100/106102 and 111004 depend on the logged outcome.
_OUTCOME_CATEGORIES: dict[str, dict[str, dict[str, Any]]] = {
    "106100": {"denied": {"type": ["connection", "denied"], "outcome": "failure", "action": "firewall-rule"},
               "permitted": {"type": ["connection", "allowed"], "outcome": "success", "action": "firewall-rule"},
               "est-allowed": {"type": ["connection", "allowed"], "outcome": "success", "action": "firewall-rule"}},
    "111004": {"failed": {"category": ["configuration"], "type": ["info"], "outcome": "failure",
                          "action": "configuration"},
               "ok": {"category": ["configuration"], "type": ["change"], "outcome": "success",
                      "action": "configuration"}},
}
_OUTCOME_CATEGORIES["106102"] = _OUTCOME_CATEGORIES["106100"]
_FTD_ACTIONS = {"430001": "intrusion-detected", "430002": "connection-started", "430003": "connection-finished",
                "430004": "file-detected", "430005": "malware-detected"}
_FTD_ECS: dict[str, tuple[str, ...]] = {
    "ACPolicy": ("rule",), "AccessControlRuleName": ("rule",), "IntrusionPolicy": ("rule",), "FilePolicy": ("rule",),
    "AccessControlRuleAction": ("event.outcome",), "ApplicationProtocol": ("network.protocol",),
    "Client": ("network.application",), "WebApplication": ("network.application",),
    "DstIP": ("destination.address",), "DstPort": ("destination.port",), "SrcIP": ("source.address",),
    "SrcPort": ("source.port",), "Protocol": ("network.transport",), "IngressInterface": ("si",),
    "EgressInterface": ("di",), "IngressZone": ("observer.ingress.zone",), "EgressZone": ("observer.egress.zone",),
    "InitiatorBytes": ("source.bytes",), "ResponderBytes": ("destination.bytes",),
    "InitiatorPackets": ("source.packets",), "ResponderPackets": ("destination.packets",),
    "User": ("user.name",), "UserAgent": ("user_agent.original",), "URL": ("url.original",),
    "URI": ("url.original",), "DNSQuery": ("dns.question.name",), "FileName": ("file.name",),
    "FileSHA256": ("file.hash.sha256",), "FileSize": ("file.size",), "HTTPReferer": ("http.request.referrer",),
    "Message": ("message",), "ReferencedHost": ("url.domain",), "originalClientSrcIP": ("client.address",),
    "ThreatName": ("tc",), "ThreatScore": ("tl",), "SSLServerName": ("server.domain",),
}
_FTD_KV = re.compile(r"(?:^|,\s*)([A-Za-z_][A-Za-z0-9_ ]*?)\s*:\s*(.*?)(?=,\s*[A-Za-z_][A-Za-z0-9_ ]*\s*:|$)", re.S)
_CAMEL1 = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL2 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_INT_KEYS = frozenset(("source.port", "destination.port", "source.bytes", "destination.bytes", "source.packets",
                       "destination.packets", "file.size"))


def sniff(line: str) -> bool:
    return _HDR.search(line[:300]) is not None


def _tz(name: str | None, default: tzinfo) -> tuple[tzinfo, bool]:
    if not name:
        return default, False
    if name in _TZ_ABBR:
        return timezone(timedelta(minutes=_TZ_ABBR[name]), name), True
    if name[0] in "+-":
        digits = name[1:].replace(":", "")
        if len(digits) == 4 and digits.isdigit():
            mins = int(digits[:2]) * 60 + int(digits[2:])
            return timezone(timedelta(minutes=-mins if name[0] == "-" else mins)), True
    return default, False


def _date(m: re.Match[str], ctx: ParseContext) -> tuple[datetime | None, str | None]:
    tz, known = _tz(m.group("tz"), ctx.tz)
    dt = syslog_header.bsd_time(m.group("mon"), m.group("day"), m.group("time"), m.group("year"), m.group("frac"),
                                tz, ctx.received)
    return dt, (m.group("tz") if known else None)


def _endpoint(text: str | None) -> tuple[str | None, str | None, str | None]:
    """``iface:addr/port`` (interface and port optional) -> (iface, addr, port)."""
    if not text:
        return None, None, None
    port = None
    slash = text.rfind("/")
    if slash > 0:
        port = text[slash + 1:]
        text = text[:slash]
    if is_ip(text):
        return None, text, port
    colon = text.find(":")
    while colon >= 0:
        cand = text[colon + 1:]
        if is_ip(cand):
            return text[:colon], cand, port
        colon = text.find(":", colon + 1)
    iface, sep, addr = text.rpartition(":")
    if sep:
        return iface or None, addr or None, port
    return None, text, port


def _hms(text: str) -> int:
    total = cur = 0
    for c in text:
        if c.isdigit():
            cur = cur * 10 + ord(c) - 48
        elif c == ":":
            total = (total + cur) * 60
            cur = 0
    return total + cur


def _user(doc: dict[str, Any], side: str, raw: str | None) -> None:
    """Split ``LOCAL\\user``, ``DOMAIN\\user``, ``user@domain`` into ECS user fields."""
    if not raw:
        return
    u = raw.strip().strip("'\"")
    if not u or u == "*****":
        return
    user: dict[str, Any] = doc.setdefault(side, {}).setdefault("user", {})
    if u.startswith("LOCAL\\"):
        u = u[6:]
    if "\\" in u:
        dom, _, u = u.rpartition("\\")
        user["domain"] = dom
    if "@" in u:
        name, _, dom = u.partition("@")
        user["email"] = u
        user["domain"] = dom
        u = name
    u = u.rstrip("$")
    user["name"] = u


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    h = _HDR.search(line)
    if h is None:
        raise ParseError("not a Cisco ASA/FTD record: no %ASA-/%FTD- message header")
    prefix = line[:h.start()]
    msg = line[h.end():]
    if "#0" in msg:
        msg = re.sub(r"#0(\d\d)", lambda m: chr(int(m.group(1), 8)), msg)
    doc: dict[str, Any] = {}
    event: dict[str, Any] = {"kind": "event", "module": "cisco_asa", "dataset": DATASET, "category": ["network"],
                             "original": line}
    doc["event"] = event
    observer: dict[str, Any] = {"vendor": "Cisco", "product": h.group("prod").lower(), "type": "firewall"}
    doc["observer"] = observer

    # Header: syslog, then an optional host / "process: host" / ASA timestamp before %ASA.
    sl = syslog_header.split(prefix, ctx, expect_tag=False)
    syslog_fields(doc, sl)
    ts = sl.timestamp
    host = sl.hostname
    mp = _PREFIX.match(sl.message)
    if mp:
        if mp.group("proc"):
            doc["process"] = {"name": mp.group("proc")}
            host = host or mp.group("h1")
        else:
            if mp.group("h2"):
                host = host or mp.group("h2")
            if mp.group("mon"):
                dt, tzname = _date(mp, ctx)
                if dt is not None:
                    ts = dt
                    if tzname:
                        event["timezone"] = tzname
    doc["@timestamp"] = syslog_header.iso(ts or ctx.received)
    if host:
        doc["host"] = {"hostname": host, "name": host}
        observer["hostname"] = host

    sev = int(h.group("sev"))
    event["severity"] = sev
    doc.setdefault("log", {})["level"] = _LEVELS[sev]
    mid = h.group("id") or ""
    asa: dict[str, Any] = {}
    if h.group("suffix"):
        asa["suffix"] = h.group("suffix")
    if mid:
        event["code"] = mid
    msg = msg.strip()
    if msg:
        doc["message"] = msg

    g: dict[str, str] = {}
    pats = PATTERNS.get(mid)
    if pats is None and mid.startswith("400"):
        pats = [_IPS]
    if pats:
        for p in pats:
            m = p.match(msg)
            if m:
                g = {k: v for k, v in m.groupdict().items() if v is not None}
                break
    if mid in _FTD_ACTIONS or (not mid and ":" in msg and "," in msg):
        mid = _ftd(doc, msg, mid, asa, g)
    _apply(doc, mid, g, asa)

    cat = _OUTCOME_CATEGORIES.get(mid, {}).get((g.get("out") or "").lower()) or CATEGORIES.get(mid)
    if cat:
        for k, v in cat.items():
            event[k] = list(v) if isinstance(v, list) else v
    if mid.startswith("400") and len(mid) == 6:
        event["kind"] = "alert"
        event["category"] = ["intrusion_detection", "network"]
        event["type"] = ["info"]
        event["action"] = "intrusion-detected"
    if mid in _FTD_ACTIONS:
        event["action"] = _FTD_ACTIONS[mid]

    # Duration -> event.duration / start / end.
    dur = g.get("dur")
    if dur:
        secs = _hms(dur)
        event["duration"] = secs * 1_000_000_000
        event["end"] = doc["@timestamp"]
        end = datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00"))
        event["start"] = syslog_header.iso(end - timedelta(seconds=secs))

    if asa:
        doc["cisco"] = {"asa": asa}
    _finish(doc, asa)
    return doc


def _ftd(doc: dict[str, Any], msg: str, mid: str, asa: dict[str, Any], g: dict[str, str]) -> str:
    """FTD security events: ``Key: value, Key: value``; guess the id when the header lacks one."""
    sec: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for k, v in _FTD_KV.findall(msg):
        k = k.strip()
        v = v.strip()
        if not k:
            continue
        target = _CAMEL1.sub(r"\1_\2", _CAMEL2.sub(r"\1_\2", k)).replace(" ", "_").lower()
        if v:
            sec[target] = v
        ecs_targets = _FTD_ECS.get(k, ())
        for t in ecs_targets:
            if not v:
                continue
            if t in ("si", "di", "tl", "tc"):
                g[t] = v
            elif t == "rule":
                g.setdefault("list", v)
            else:
                cur: dict[str, Any] = doc
                parts = t.split(".")
                for p in parts[:-1]:
                    cur = cur.setdefault(p, {})
                val: Any = v
                if t in _INT_KEYS and v.isdigit():
                    val = int(v)
                cur[parts[-1]] = val
        if k in ("ConnectionDuration",):
            g["dur"] = v
        if k in ("ICMPType", "ICMPCode"):
            g["it" if k == "ICMPType" else "ic"] = v
        for fid in (("430001",) if k in ("Classification", "GID", "SID", "Priority", "Revision", "InlineResult")
                    else ("430004", "430005") if k.startswith(("File", "Archive", "SHA_", "Spero", "Threat"))
                    else ("430002", "430003") if k.startswith(("AccessControl", "Initiator", "Responder", "DNS",
                                                                "URL", "SSL", "HTTP"))
                    else ()):
            counts[fid] = counts.get(fid, 0) + 1
    if sec:
        asa["security"] = sec
    if not mid and counts:
        mid = max(counts.items(), key=lambda kv: kv[1])[0]
        doc["event"]["code"] = mid
    if "address" in doc.get("source", {}):
        g.setdefault("sa", doc["source"].pop("address"))
    if "address" in doc.get("destination", {}):
        g.setdefault("da", doc["destination"].pop("address"))
    net = doc.get("network") or {}
    if "transport" in net:
        g.setdefault("tr", net.pop("transport"))
    outcome = doc.get("event", {}).get("outcome")
    if isinstance(outcome, str):
        doc["event"]["outcome"] = outcome.lower()
    return mid


def _apply(doc: dict[str, Any], mid: str, g: dict[str, str], asa: dict[str, Any]) -> None:
    """Map the named groups of a message pattern to ECS / ``cisco.asa.*``."""
    if not g:
        return
    event = doc["event"]
    src: dict[str, Any] = doc.setdefault("source", {})
    dst: dict[str, Any] = doc.setdefault("destination", {})
    # 302013/302015: for "outbound", the first endpoint is the foreign (destination) side.
    if "A" in g:
        first = ("D", "ND", "ud") if g.get("dir", "").lower() == "outbound" else ("S", "NS", "us")
        second = ("S", "NS", "us") if first[0] == "D" else ("D", "ND", "ud")
        for k, v in zip(first, (g.pop("A", None), g.pop("NA", None), g.pop("ua", None)), strict=True):
            if v is not None:
                g[k] = v
        for k, v in zip(second, (g.pop("B", None), g.pop("NB", None), g.pop("ub", None)), strict=True):
            if v is not None:
                g[k] = v
    for key in ("S", "D"):
        if key in g:
            iface, addr, port = _endpoint(g[key])
            pre = "s" if key == "S" else "d"
            if iface:
                g.setdefault(pre + "i", iface)
            if addr:
                g.setdefault(pre + "a", addr)
            if port:
                g.setdefault(pre + "p", port)
    for key, pre in (("NS", "ns"), ("ND", "nd")):
        if key in g:
            _, addr, port = _endpoint(g[key])
            if addr:
                g.setdefault(pre + "a", addr)
            if port:
                g.setdefault(pre + "p", port)
    if "nsa" in g and "nsp" not in g and "ns" in g:
        pass
    for k, side in (("sa", src), ("da", dst)):
        if k in g:
            side["address"] = g[k].strip().rstrip(".")
    for k, side in (("sp", src), ("dp", dst)):
        if k in g and g[k].isdigit():
            side["port"] = int(g[k])
    if "dp" in g and not g["dp"].isdigit() and "pr" not in g:
        g["pr"] = g["dp"]
    if "si" in g:
        asa["source_interface"] = g["si"].rstrip(".")
    if "di" in g:
        asa["destination_interface"] = g["di"].rstrip(".")
    net: dict[str, Any] = doc.setdefault("network", {})
    if "tr" in g:
        net["transport"] = g["tr"].lower()
    if "iana" in g:
        net["iana_number"] = g["iana"]
    if "dir" in g:
        net["direction"] = g["dir"].lower()
    if "pr" in g:
        net["protocol"] = g["pr"].lower()
    if "ntype" in g:
        net["type"] = g["ntype"].lower()
    if "nb" in g and g["nb"].isdigit():
        net["bytes"] = int(g["nb"])
    for k, side in (("sb", src), ("db", dst)):
        if k in g and g[k].strip().isdigit():
            side["bytes"] = int(g[k].strip())
    if "list" in g:
        asa["rule_name"] = g["list"]
    if "reason" in g or "reason2" in g:
        event["reason"] = (g.get("reason", "") + g.get("reason2", "")).strip()
    if "out" in g:
        asa["outcome"] = g["out"].lower()
    if "evid" in g:
        event["id"] = g["evid"]
    _user(doc, "source", g.get("su"))
    _user(doc, "source", g.get("us"))
    _user(doc, "destination", g.get("ud"))
    if "u" in g and g["u"] not in ("*****", ""):
        doc["user"] = {"name": g["u"]}
    if "svu" in g:
        doc["server"] = {"user": {"name": g["svu"]}}
    if "cu" in g:
        doc["client"] = {"user": {"name": g["cu"]}}
    if "grp" in g:
        src.setdefault("user", {})["group"] = {"name": g["grp"]}
    if "smac" in g:
        src["mac"] = g["smac"].replace(".", "").replace(":", "").upper()
        if len(src["mac"]) == 12:
            src["mac"] = "-".join(src["mac"][i:i + 2] for i in range(0, 12, 2))
    if "url" in g:
        doc["url"] = {"original": g["url"]}
    if "fp" in g:
        doc["file"] = {"path": g["fp"]}
    if "ua" in g:
        doc["user_agent"] = {"original": g["ua"]}
    if "email" in g:
        doc.setdefault("user", {})["email"] = g["email"]
    if "sd" in g:
        src["domain"] = g["sd"]
    if "it" in g and g["it"].isdigit():
        asa["icmp_type"] = int(g["it"])
    if "ic" in g and g["ic"].isdigit():
        asa["icmp_code"] = int(g["ic"])
    if "oiana" in g:
        asa["original_iana_number"] = int(g["oiana"])
    if "oproto" in g:
        asa["original_protocol"] = g["oproto"].lower()
    simple = {"cid": "connection_id", "aaa": "aaa_type", "rr": "rejection_reason", "stype": "session_type",
              "tg": "tunnel_group", "ti": "termination_initiator", "tu": "termination_user", "tl": "threat_level",
              "tc": "threat_category", "gp": "group_policy", "cmd": "command_line_arguments", "peer": "peer_type",
              "tp": "trustpoint", "dtype": "device_type", "ctype": "connection_type", "sess": "session_id",
              "pool": "pool_name", "paddr": "pool_address", "ifn": "interface_name", "rifn": "redundant_interface_name",
              "tt": "tunnel_type", "flags": "tcp_flags", "hits": "hit_count", "smsg": "message"}
    for k, f in simple.items():
        if k in g and g[k] != "":
            asa[f] = g[k]
    if "wgrp" in g:
        asa["webvpn"] = {"group_name": g["wgrp"]}
    if "pold" in g or "pnew" in g:
        asa["privilege"] = {"old": g.get("pold"), "new": g.get("pnew")}
    for k, f in (("ciu", "connections_in_use"), ("cmu", "connections_most_used")):
        if k in g and g[k].isdigit():
            asa[f] = int(g[k])
    if "bobj" in g:
        asa["burst"] = {"object": g["bobj"].strip(), "id": g["bid"], "current_rate": g["bcur"],
                        "configured_rate": g["bconf"], "avg_rate": g["bavg"], "configured_avg_rate": g["bconfavg"],
                        "cumulative_count": g["bcum"]}
    if "dap" in g:
        asa["dap_records"] = re.split(r",\s+", g["dap"])
    if "tlsv" in g:
        mt = re.match(r"([A-Z]+)(?:v([\d.]+))?", g["tlsv"])
        if mt:
            doc["tls"] = {"version_protocol": mt.group(1).lower()}
            if mt.group(2):
                doc["tls"]["version"] = mt.group(2)
    if mid == "722051" and "reason" in g:
        ma = re.match(r"IPv4 Address <([^>]*)>", g["reason"])
        if ma:
            asa["assigned_ip"] = ma.group(1)
    if mid in ("722033", "722034") and "reason" in g:
        mt2 = re.search(r"(?:First|New) (\S+) SVC connection", g["reason"])
        if mt2:
            net["transport"] = mt2.group(1).lower()
    if mid == "419002":
        net["transport"] = "tcp"
    if mid == "106013":
        net["transport"], net["direction"] = "icmp", "inbound"
    if "sig" in g:
        doc["rule"] = {"id": g["sig"], "name": g.get("signame", "")}
    if "which" in g and g.get("dom") and not is_ip(g["dom"]):
        side = src if g["which"] == "source" else dst
        side["domain"] = g["dom"]
        doc["server"] = {"domain": g["dom"]}
    if mid == "338301":
        doc["client"] = {k: v for k, v in (("address", dst.get("address")), ("port", dst.get("port"))) if v}
        doc["server"] = {k: v for k, v in (("address", src.get("address")), ("port", src.get("port"))) if v}
    # Mapped (NAT) addresses.
    for pre, name in (("ns", "source"), ("nd", "destination")):
        a, p = g.get(pre + "a"), g.get(pre + "p")
        if a:
            ip = clean_ip(a)
            if ip:
                asa[f"mapped_{name}_ip"] = ip
            else:
                asa[f"mapped_{name}_host"] = a
        if p and p.isdigit():
            asa[f"mapped_{name}_port"] = int(p)


def _finish(doc: dict[str, Any], asa: dict[str, Any]) -> None:
    src = doc.get("source") or {}
    dst = doc.get("destination") or {}
    net = doc.get("network") or {}
    tr = net.get("transport")
    if tr is not None:
        if tr == "icmpv6":
            tr = net["transport"] = "ipv6-icmp"
        if tr in TRANSPORT_IANA:
            net["iana_number"] = TRANSPORT_IANA[tr]
        elif tr in _EXTRA_IANA:
            net["iana_number"] = _EXTRA_IANA[tr]
        elif tr.isdigit():
            net["iana_number"] = tr
            if tr in IANA_TRANSPORT:
                net["transport"] = IANA_TRANSPORT[tr]
            else:
                del net["transport"]
    elif "iana_number" in net and net["iana_number"] in IANA_TRANSPORT:
        net["transport"] = IANA_TRANSPORT[net["iana_number"]]
    for side in (src, dst):
        a = side.get("address")
        if a:
            ip = clean_ip(a)
            if ip:
                side["ip"] = ip
            else:
                side["domain"] = a
    # NAT only when a translation happened.
    for side, name in ((src, "source"), (dst, "destination")):
        mip = asa.get(f"mapped_{name}_ip")
        mport = asa.get(f"mapped_{name}_port")
        if mip is not None and mip != side.get("ip"):
            side.setdefault("nat", {})["ip"] = mip
        if mport is not None and mport != side.get("port"):
            side.setdefault("nat", {})["port"] = mport
    obs = doc["observer"]
    if asa.get("destination_interface"):
        obs["egress"] = {"interface": {"name": asa["destination_interface"]}}
    if asa.get("source_interface"):
        obs["ingress"] = {"interface": {"name": asa["source_interface"]}}
    user = doc.get("user")
    if (user is None or "name" not in user) and (dst.get("user") or {}).get("name"):
        doc.setdefault("user", {})["name"] = dst["user"]["name"]
    rel: dict[str, Any] = {}
    for ip in (src.get("ip"), (src.get("nat") or {}).get("ip"), dst.get("ip"), (dst.get("nat") or {}).get("ip")):
        add_list(rel, "r", "ip", ip)
    for u in ((doc.get("user") or {}).get("name"), ((doc.get("server") or {}).get("user") or {}).get("name"),
              (src.get("user") or {}).get("name"), (dst.get("user") or {}).get("name")):
        if u and u != "*****":
            add_list(rel, "r", "user", u)
    for hname in ((doc.get("host") or {}).get("hostname"), obs.get("hostname"), dst.get("domain"), src.get("domain"),
                  (src.get("user") or {}).get("domain"), (dst.get("user") or {}).get("domain")):
        add_list(rel, "r", "hosts", hname)
    if rel:
        doc["related"] = rel["r"]
    if src.get("ip") and dst.get("ip") and "iana_number" in net:
        cid = community_id(src["ip"], dst["ip"], net["iana_number"], src.get("port"), dst.get("port"),
                           asa.get("icmp_type"), asa.get("icmp_code"))
        if cid:
            net["community_id"] = cid
    for k in ("source", "destination", "network"):
        if not doc.get(k):
            doc.pop(k, None)
