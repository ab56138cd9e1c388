-- mpstream.lua - Wireshark / tshark post-dissector for the mpstream group extension.
--
-- The group extension (doc/protocol.md, "Group extension") sends its messages in MPTCP's
-- MP_EXPERIMENTAL suboption: TCP option kind 30, subtype 0xf in the high nibble of the third
-- byte, the message type in the low nibble, then the payload (all values big-endian):
--
--   type  name        sent on                                payload            option length
--   1     REQ         client's MP_CAPABLE SYN                -                  3
--   2     ACK         server's MP_CAPABLE SYN-ACK            version (1)        4
--   3     TICKET      server's pure ACKs, until confirmed    N (8)              11
--   4     TICKET_ACK  client's pure ACK                      -                  3
--   5     JOIN        client's SYN to a group member         flags|id (1)       28
--                                                            token (4) R (4)
--                                                            N (8) Key-C (8)
--   6     RANGE       client's pure ACKs                     DSN (8) length (4) 15
--   7     PROBE       client's pure ACKs                     DSN (8) length (4) 15
--   8     IDLE        server's pure ACKs                     DSN (8)            11
--
-- Wireshark's own MPTCP dissector shows the suboption as MP_EXPERIMENTAL and stops there;
-- this script walks the TCP options of every segment after all other dissectors ran and
-- adds an "mpstream" tree with one item per message.  Fields (for display filters and
-- tshark -T fields -e ...):
--
--   mpstream.type          message type (1..8)          mpstream.length   option length
--   mpstream.version       ACK: group protocol version
--   mpstream.n             TICKET, JOIN: the accepting server's nonce N
--   mpstream.backup        JOIN: backup flag            mpstream.addr_id  JOIN: address id
--   mpstream.token         JOIN: token of the connection's server key Key-S
--   mpstream.r             JOIN: the client's random number R (as in MP_JOIN)
--   mpstream.key_c         JOIN: the client's key Key-C
--   mpstream.range.dsn     RANGE, PROBE: first data sequence number asked for
--   mpstream.range.len     RANGE, PROBE: number of bytes   mpstream.range.end  (generated)
--   mpstream.idle.dsn      IDLE: where the server's application's writes end
--   mpstream.ticket_frame  JOIN: the frame of the TICKET that carried this N (generated,
--                          when the capture holds it)
--
-- Expert items: mpstream.expert.bad_length (error, malformed: the length is not the one of
-- the type; the stack refuses such a message), mpstream.expert.unknown_type (warning),
-- mpstream.expert.truncated (error), mpstream.expert.wrong_segment (warning: a message on a
-- segment the protocol does not send it on, e.g. a JOIN without SYN).
--
-- Use (Wireshark / tshark 3.x or later, built with Lua):
--   tshark -X lua_script:contrib/wireshark/mpstream.lua -r capture.pcapng -Y mpstream
--   or copy the file into ~/.local/lib/wireshark/plugins/
-- See contrib/wireshark/README.md.

local MPTCP_KIND = 30
local SUBTYPE_EXPERIMENTAL = 0xf

local TYPE_REQ, TYPE_ACK, TYPE_TICKET, TYPE_TICKET_ACK, TYPE_JOIN, TYPE_RANGE = 1, 2, 3, 4, 5, 6
local TYPE_PROBE, TYPE_IDLE = 7, 8

local type_names = {
	[TYPE_REQ] = "REQ",
	[TYPE_ACK] = "ACK",
	[TYPE_TICKET] = "TICKET",
	[TYPE_TICKET_ACK] = "TICKET_ACK",
	[TYPE_JOIN] = "JOIN",
	[TYPE_RANGE] = "RANGE",
	[TYPE_PROBE] = "PROBE",
	[TYPE_IDLE] = "IDLE",
}

-- whole option length (kind, length, subtype byte and payload) of each type
local type_len = {
	[TYPE_REQ] = 3,
	[TYPE_ACK] = 4,
	[TYPE_TICKET] = 11,
	[TYPE_TICKET_ACK] = 3,
	[TYPE_JOIN] = 28,
	[TYPE_RANGE] = 15,
	[TYPE_PROBE] = 15,
	[TYPE_IDLE] = 11,
}

-- which segments carry each type: "syn" (SYN without ACK), "synack", "ack" (no SYN)
local type_segment = {
	[TYPE_REQ] = "syn",
	[TYPE_ACK] = "synack",
	[TYPE_TICKET] = "ack",
	[TYPE_TICKET_ACK] = "ack",
	[TYPE_JOIN] = "syn",
	[TYPE_RANGE] = "ack",
	[TYPE_PROBE] = "ack",
	[TYPE_IDLE] = "ack",
}

local segment_names = {
	syn = "a SYN",
	synack = "a SYN-ACK",
	ack = "a segment without SYN",
}

local mps = Proto("mpstream", "mpstream group extension (MPTCP MP_EXPERIMENTAL)")

local f = {
	type = ProtoField.uint8("mpstream.type", "Type", base.DEC, type_names, 0x0f),
	length = ProtoField.uint8("mpstream.length", "Option length", base.DEC),
	version = ProtoField.uint8("mpstream.version", "Version", base.DEC),
	n = ProtoField.uint64("mpstream.n", "N (server nonce)", base.HEX),
	backup = ProtoField.bool("mpstream.backup", "Backup", 8, nil, 0x80),
	addr_id = ProtoField.uint8("mpstream.addr_id", "Address id", base.DEC, nil, 0x7f),
	token = ProtoField.uint32("mpstream.token", "Token", base.HEX),
	r = ProtoField.uint32("mpstream.r", "R (client random)", base.HEX),
	key_c = ProtoField.uint64("mpstream.key_c", "Key-C (client key)", base.HEX),
	range_dsn = ProtoField.uint64("mpstream.range.dsn", "Range DSN", base.DEC),
	range_len = ProtoField.uint32("mpstream.range.len", "Range length", base.DEC),
	range_end = ProtoField.uint64("mpstream.range.end", "Range end DSN", base.DEC),
	idle_dsn = ProtoField.uint64("mpstream.idle.dsn", "Writes end at DSN", base.DEC),
	ticket_frame = ProtoField.framenum("mpstream.ticket_frame", "N from the TICKET in frame"),
}
mps.fields = { f.type, f.length, f.version, f.n, f.backup, f.addr_id, f.token, f.r, f.key_c,
	f.range_dsn, f.range_len, f.range_end, f.idle_dsn, f.ticket_frame }

local ex = {
	bad_length = ProtoExpert.new("mpstream.expert.bad_length", "Wrong option length for the type",
		expert.group.MALFORMED, expert.severity.ERROR),
	unknown_type = ProtoExpert.new("mpstream.expert.unknown_type", "Unknown message type",
		expert.group.UNDECODED, expert.severity.WARN),
	truncated = ProtoExpert.new("mpstream.expert.truncated", "Option runs past the captured bytes",
		expert.group.MALFORMED, expert.severity.ERROR),
	wrong_segment = ProtoExpert.new("mpstream.expert.wrong_segment",
		"Message on a segment the protocol does not send it on",
		expert.group.PROTOCOL, expert.severity.WARN),
}
mps.experts = { ex.bad_length, ex.unknown_type, ex.truncated, ex.wrong_segment }

local tcp_options_f = Field.new("tcp.options")
local tcp_flags_f = Field.new("tcp.flags")

-- N (as a string) -> frame number of the first TICKET that carried it
local tickets = {}

function mps.init()
	tickets = {}
end

-- The flags of the TCP header whose options start at opt_offset: tcp.flags is the 16-bit
-- field at offset 12 of the header, the options start at offset 20.
local function segment_flags(flag_infos, opt_offset)
	for _, fi in ipairs(flag_infos) do
		if fi.offset == opt_offset - 8 then
			return fi.value
		end
	end
	return nil
end

local function segment_kind(flags)
	if flags == nil then
		return nil
	end
	local syn = math.floor(flags / 0x002) % 2 == 1
	local ack = math.floor(flags / 0x010) % 2 == 1
	if syn and ack then
		return "synack"
	elseif syn then
		return "syn"
	end
	return "ack"
end

-- Decode one MP_EXPERIMENTAL option: r is its TvbRange (kind .. end), len its length byte.
-- Returns the message type name for the Info column.
local function dissect_msg(r, len, kind, pinfo, tree)
	local mtype = r(2, 1):uint() % 16
	local name = type_names[mtype]
	local t = tree:add(mps, r, "mpstream " .. (name or ("type " .. mtype)))

	t:add(f.type, r(2, 1))
	t:add(f.length, r(1, 1))
	if name == nil then
		t:add_proto_expert_info(ex.unknown_type, "Unknown message type " .. mtype)
		return "type " .. mtype
	end
	if len ~= type_len[mtype] then
		t:add_proto_expert_info(ex.bad_length, string.format(
			"%s must be %d bytes long, this one is %d", name, type_len[mtype], len))
		return name .. " (bad length)"
	end
	if kind ~= nil and kind ~= type_segment[mtype] then
		t:add_proto_expert_info(ex.wrong_segment, string.format("%s is sent on %s only",
			name, segment_names[type_segment[mtype]]))
	end

	if mtype == TYPE_ACK then
		t:add(f.version, r(3, 1))
		t:append_text(", version " .. r(3, 1):uint())
	elseif mtype == TYPE_TICKET then
		local n = r(3, 8):uint64()
		t:add(f.n, r(3, 8))
		t:append_text(", N 0x" .. n:tohex())
		if not pinfo.visited and tickets[tostring(n)] == nil then
			tickets[tostring(n)] = pinfo.number
		end
	elseif mtype == TYPE_JOIN then
		local n = r(12, 8):uint64()
		t:add(f.backup, r(3, 1))
		t:add(f.addr_id, r(3, 1))
		t:add(f.token, r(4, 4))
		t:add(f.r, r(8, 4))
		t:add(f.n, r(12, 8))
		t:add(f.key_c, r(20, 8))
		t:append_text(string.format(", token 0x%08x, N 0x%s", r(4, 4):uint(), n:tohex()))
		local tf = tickets[tostring(n)]
		if tf ~= nil then
			t:add(f.ticket_frame, tf):set_generated()
		end
	elseif mtype == TYPE_IDLE then
		t:add(f.idle_dsn, r(3, 8))
		t:append_text(", writes end at DSN " .. tostring(r(3, 8):uint64()))
	elseif mtype == TYPE_RANGE or mtype == TYPE_PROBE then
		local dsn = r(3, 8):uint64()
		local n = r(11, 4):uint()
		t:add(f.range_dsn, r(3, 8))
		t:add(f.range_len, r(11, 4))
		t:add(f.range_end, dsn + n):set_generated()
		t:append_text(string.format(", DSN %s, %d bytes", tostring(dsn), n))
	end
	return name
end

function mps.dissector(tvb, pinfo, tree)
	local opts = { tcp_options_f() }
	if #opts == 0 then
		return
	end
	local flag_infos = { tcp_flags_f() }
	local names = {}

	for _, fi in ipairs(opts) do
		local r = fi.range
		local total = r:len()
		local kind = segment_kind(segment_flags(flag_infos, fi.offset))
		local i = 0
		while i < total do
			local k = r(i, 1):uint()
			if k == 0 then
				break -- end of option list
			elseif k == 1 then
				i = i + 1 -- NOP
			else
				if i + 1 >= total then
					break
				end
				local len = r(i + 1, 1):uint()
				if len < 2 then
					break -- broken list: the TCP dissector reports it
				end
				if k == MPTCP_KIND and len >= 3 and i + 2 < total and
					math.floor(r(i + 2, 1):uint() / 16) == SUBTYPE_EXPERIMENTAL then
					if i + len > total then
						local t = tree:add(mps, r(i, total - i), "mpstream (truncated)")
						t:add_proto_expert_info(ex.truncated)
						names[#names + 1] = "truncated"
						break
					end
					names[#names + 1] = dissect_msg(r(i, len), len, kind, pinfo, tree)
				end
				i = i + len
			end
		end
	end
	if #names > 0 then
		pinfo.cols.info:append(" [mpstream " .. table.concat(names, ", ") .. "]")
	end
end

-- true: every field is generated even when no filter asks for it, so that the tcp.options
-- and tcp.flags extractors above always have values (tshark -T fields, no tree).
register_postdissector(mps, true)
