package amqptest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Protocol headers.
var (
	headerSASL = []byte("AMQP\x03\x01\x00\x00")
	headerAMQP = []byte("AMQP\x00\x01\x00\x00")
)

const (
	sessionWindow = 10000 // transfer frames a client may send before we widen its window
	linkCredit    = 1000  // messages a client may send before we grant more
	handshakeTime = 10 * time.Second
)

type linkKind int

const (
	kindNone    linkKind = iota // a refused link
	kindCBS                     // client sends put-token requests
	kindMgmt                    // client sends management requests
	kindSend                    // client sends events
	kindReply                   // server sends replies to requests
	kindConsume                 // server sends events
)

// link is one attached link of a session.
type link struct {
	name      string
	remote    uint32 // the client's handle
	local     uint32 // ours
	kind      linkKind
	entity    string // lower-case entity path, for authorization
	partition int    // -1: any
	detached  bool   // we sent a detach and wait for the client's

	// the server receives (client senders)
	credit     uint32 // messages we still allow
	received   uint32 // deliveries completed (the sender's delivery-count)
	buf        []byte
	more       bool
	oversize   bool
	deliveryID uint32
	settled    bool
	format     uint32

	// the server sends (client receivers)
	target        string // the client's target address (where replies go)
	deliveryCount uint32
	available     uint32 // link credit left
	drain         bool
	tag           uint64
	pending       [][]byte
	nextSeq       int64
}

func (l *link) outgoing() bool { return l.kind == kindReply || l.kind == kindConsume }

// session is one session; the server uses the client's channel number as
// its own.
type session struct {
	ch             uint16
	nextIncomingID uint32
	sinceFlow      uint32
	nextOutgoingID uint32
	remoteWindow   uint32
	nextDeliveryID uint32
	links          map[uint32]*link // by the client's handle
	out            map[uint32]*link // by our handle
}

// conn serves one client connection: a reader goroutine decodes frames and
// the serve loop owns every piece of state and all writes.
type conn struct {
	srv      *Server
	nc       net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	scratch  []byte
	peerMax  uint32
	idle     time.Duration
	lastW    time.Time
	sessions map[uint16]*session
	claims   []claim
	notify   chan struct{}
	in       chan readResult
	quit     chan struct{}
}

type readResult struct {
	f   *frame
	err error
}

// connError closes the connection with an AMQP error.
type connError struct{ cond, desc string }

func (e *connError) Error() string { return e.cond + ": " + e.desc }

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{srv: s, nc: nc, r: bufio.NewReaderSize(nc, 64<<10), w: bufio.NewWriterSize(nc, 64<<10),
		peerMax: 512, sessions: map[uint16]*session{}, notify: make(chan struct{}, 1),
		in: make(chan readResult, 64), quit: make(chan struct{})}
}

func (c *conn) serve() {
	defer c.nc.Close()
	_ = c.nc.SetDeadline(time.Now().Add(handshakeTime))
	if err := c.handshake(); err != nil {
		return
	}
	_ = c.nc.SetDeadline(time.Time{})
	c.srv.hub.subscribe(c.notify)
	defer c.srv.hub.unsubscribe(c.notify)
	defer close(c.quit)
	go c.readLoop()

	var tick <-chan time.Time
	if c.idle > 0 {
		t := time.NewTicker(c.idle / 2)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case rr := <-c.in:
			if rr.err != nil {
				return
			}
			err := c.handle(rr.f)
			var ce *connError
			if errors.As(err, &ce) {
				_ = c.write(frameAMQP, 0, perfClose, nil, amqpError(ce.cond, ce.desc))
				_ = c.w.Flush()
				return
			}
			if err != nil {
				return // closed or write failed
			}
		case <-c.notify:
			if err := c.pump(); err != nil {
				return
			}
		case <-tick:
			if time.Since(c.lastW) >= c.idle/2 {
				if _, err := c.w.Write(heartbeat); err != nil {
					return
				}
				c.lastW = time.Now()
			}
		case <-c.srv.done:
			return
		}
		if len(c.in) == 0 {
			if err := c.w.Flush(); err != nil {
				return
			}
		}
	}
}

func (c *conn) readLoop() {
	for {
		f, err := readFrame(c.r, c.srv.opts.MaxFrameSize)
		select {
		case c.in <- readResult{f: f, err: err}:
		case <-c.quit:
			return
		}
		if err != nil {
			return
		}
	}
}

// handshake runs the protocol headers, SASL and the open exchange.
func (c *conn) handshake() error {
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(c.r, hdr); err != nil {
		return err
	}
	if bytes.Equal(hdr, headerSASL) {
		if err := c.sasl(); err != nil {
			return err
		}
		if _, err := io.ReadFull(c.r, hdr); err != nil {
			return err
		}
	}
	if !bytes.Equal(hdr, headerAMQP) {
		_, _ = c.nc.Write(headerAMQP)
		return fmt.Errorf("unsupported protocol header %q", hdr)
	}
	if _, err := c.nc.Write(headerAMQP); err != nil {
		return err
	}
	f, err := readFrame(c.r, c.srv.opts.MaxFrameSize)
	if err != nil {
		return err
	}
	if f.typ != frameAMQP || f.code != perfOpen {
		return errors.New("expected open")
	}
	c.peerMax = 0xffffffff
	if n, ok := f.u32(2); ok {
		c.peerMax = max(n, 512)
	}
	if ms, ok := f.u32(4); ok && ms > 0 {
		c.idle = time.Duration(ms) * time.Millisecond
	}
	err = c.write(frameAMQP, 0, perfOpen, nil,
		"sluice-amqptest", nil, c.srv.opts.MaxFrameSize, uint16(0xffff), nil, nil, nil,
		Array{Elems: []any{Symbol("com.microsoft:georeplication")}})
	if err != nil {
		return err
	}
	return c.w.Flush()
}

// sasl offers ANONYMOUS and PLAIN; PLAIN with a policy's name and key
// authorizes the whole connection.
func (c *conn) sasl() error {
	if _, err := c.nc.Write(headerSASL); err != nil {
		return err
	}
	mechs := Array{Elems: []any{Symbol("ANONYMOUS"), Symbol("PLAIN")}}
	if err := c.write(frameSASL, 0, saslMechanisms, nil, mechs); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	f, err := readFrame(c.r, c.srv.opts.MaxFrameSize)
	if err != nil {
		return err
	}
	if f.typ != frameSASL || f.code != saslInit {
		return errors.New("expected sasl-init")
	}
	outcome := uint8(0)
	switch f.str(0) {
	case "ANONYMOUS":
	case "PLAIN":
		parts := bytes.SplitN(f.binary(1), []byte{0}, 3)
		outcome = 1
		if len(parts) == 3 {
			for _, k := range c.srv.keys {
				if string(parts[1]) == k.Name && string(parts[2]) == k.Value {
					outcome = 0
					c.claims = append(c.claims, claim{send: k.Send, listen: k.Listen})
				}
			}
		}
	default:
		outcome = 1
	}
	if err := c.write(frameSASL, 0, saslOutcome, nil, outcome); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	if outcome != 0 {
		return errors.New("sasl authentication failed")
	}
	return nil
}

// write encodes and buffers one frame.
func (c *conn) write(typ byte, ch uint16, code uint64, payload []byte, fields ...any) error {
	b, err := appendFrame(c.scratch[:0], typ, ch, code, payload, fields...)
	if err != nil {
		return err
	}
	c.scratch = b
	c.lastW = time.Now()
	_, err = c.w.Write(b)
	return err
}

var errClientClosed = errors.New("client closed the connection")

// handle processes one frame from the client.
func (c *conn) handle(f *frame) error {
	if f.empty {
		return nil
	}
	if f.typ != frameAMQP {
		return &connError{"amqp:connection:framing-error", "unexpected SASL frame"}
	}
	if f.code == perfClose {
		_ = c.write(frameAMQP, 0, perfClose, nil)
		_ = c.w.Flush()
		return errClientClosed
	}
	if f.code == perfBegin {
		return c.onBegin(f)
	}
	s := c.sessions[f.channel]
	if s == nil {
		return &connError{"amqp:connection:framing-error", fmt.Sprintf("frame 0x%02x on channel %d without a session", f.code, f.channel)}
	}
	switch f.code {
	case perfAttach:
		return c.onAttach(s, f)
	case perfFlow:
		return c.onFlow(s, f)
	case perfTransfer:
		return c.onTransfer(s, f)
	case perfDisposition:
		return nil // our deliveries are pre-settled
	case perfDetach:
		return c.onDetach(s, f)
	case perfEnd:
		delete(c.sessions, f.channel)
		return c.write(frameAMQP, s.ch, perfEnd, nil)
	}
	return &connError{"amqp:not-implemented", fmt.Sprintf("performative 0x%02x", f.code)}
}

func (c *conn) onBegin(f *frame) error {
	if _, ok := c.sessions[f.channel]; ok {
		return &connError{"amqp:connection:framing-error", fmt.Sprintf("channel %d already has a session", f.channel)}
	}
	nextOut, _ := f.u32(1)
	window, _ := f.u32(2)
	s := &session{ch: f.channel, nextIncomingID: nextOut, remoteWindow: window,
		links: map[uint32]*link{}, out: map[uint32]*link{}}
	c.sessions[f.channel] = s
	return c.write(frameAMQP, s.ch, perfBegin, nil, f.channel, s.nextOutgoingID, uint32(sessionWindow), uint32(0xffffffff))
}

// resolve maps an address to the kind of link and the entity it names.
func (c *conn) resolve(address string, clientSends bool) (*link, *connError) {
	hub := c.srv.hub
	path := address
	if strings.Contains(path, "://") {
		path = entityPath(path)
	}
	path = strings.Trim(path, "/")
	lower := strings.ToLower(path)
	l := &link{partition: -1, entity: lower}
	switch {
	case lower == "$cbs":
		l.kind = kindCBS
	case lower == "$management" || strings.HasSuffix(lower, "/$management"):
		l.kind = kindMgmt
	}
	if l.kind == kindCBS || l.kind == kindMgmt {
		if !clientSends {
			l.kind = kindReply
		}
		return l, nil
	}
	seg := strings.Split(lower, "/")
	notFound := &connError{"amqp:not-found", fmt.Sprintf("The messaging entity '%s' could not be found.", path)}
	if seg[0] != strings.ToLower(hub.name) {
		return nil, notFound
	}
	part := func(id string) (int, *connError) {
		i := hub.partitionIndex(id)
		if i < 0 {
			return 0, &connError{"com.microsoft:argument-out-of-range",
				fmt.Sprintf("The specified partition '%s' is invalid for event hub '%s'; valid partitions are 0 to %d.", id, hub.name, len(hub.parts)-1)}
		}
		return i, nil
	}
	switch {
	case len(seg) == 1 && clientSends:
		l.kind = kindSend
	case len(seg) == 3 && seg[1] == "partitions" && clientSends:
		i, err := part(seg[2])
		if err != nil {
			return nil, err
		}
		l.kind, l.partition = kindSend, i
	case len(seg) == 5 && seg[1] == "consumergroups" && seg[3] == "partitions" && !clientSends:
		if !c.srv.groups[seg[2]] {
			return nil, &connError{"amqp:not-found", fmt.Sprintf("The consumer group '%s' of event hub '%s' could not be found.", seg[2], hub.name)}
		}
		i, err := part(seg[4])
		if err != nil {
			return nil, err
		}
		l.kind, l.partition = kindConsume, i
	case len(seg) == 1 || len(seg) == 3 || len(seg) == 5:
		return nil, &connError{"amqp:not-allowed", fmt.Sprintf("'%s' does not support this link direction.", path)}
	default:
		return nil, notFound
	}
	return l, nil
}

// authorize checks the connection's claims for entity.
func (c *conn) authorize(entity string, send bool) *connError {
	right := "Listen"
	if send {
		right = "Send"
	}
	expired := false
	for _, cl := range c.claims {
		if !cl.covers(entity) || (send && !cl.send) || (!send && !cl.listen) {
			continue
		}
		if !cl.expires.IsZero() && !c.srv.now().Before(cl.expires) {
			expired = true
			continue
		}
		return nil
	}
	if expired {
		return &connError{"amqp:unauthorized-access", fmt.Sprintf("Unauthorized access. The token for '%s' has expired.", entity)}
	}
	return &connError{"amqp:unauthorized-access", fmt.Sprintf("Unauthorized access. '%s' claim(s) are required to perform this operation. Resource: '%s'.", right, entity)}
}

func (c *conn) onAttach(s *session, f *frame) error {
	handle, _ := f.u32(1)
	if _, ok := s.links[handle]; ok {
		return &connError{"amqp:session:handle-in-use", fmt.Sprintf("handle %d is in use", handle)}
	}
	clientSends := !f.bool(2)
	var address string
	if clientSends {
		address = terminusAddress(f.at(6))
	} else {
		address = terminusAddress(f.at(5))
	}
	l, refusal := c.resolve(address, clientSends)
	if l == nil {
		l = &link{partition: -1}
	}
	l.name, l.remote = f.str(0), handle
	for l.local = 0; s.out[l.local] != nil; l.local++ {
	}
	if refusal == nil {
		switch l.kind {
		case kindSend:
			refusal = c.authorize(l.entity, true)
		case kindConsume:
			refusal = c.authorize(l.entity, false)
			if refusal == nil {
				sel, _ := selectorFromSource(f.at(5))
				start, err := parseSelector(sel)
				if err != nil {
					refusal = &connError{"amqp:invalid-field", err.Error()}
				} else {
					l.nextSeq = c.srv.hub.startSeq(l.partition, start)
				}
			}
		case kindReply:
			l.target = terminusAddress(f.at(6))
		}
	}
	s.links[handle] = l
	s.out[l.local] = l
	var initial any
	if !clientSends {
		initial = uint32(0)
	}
	raw := func(i int) any {
		if b := f.rawAt(i); b != nil {
			return Raw(b)
		}
		return nil
	}
	src, tgt := raw(5), raw(6)
	if refusal != nil {
		src, tgt = nil, nil
	}
	err := c.write(frameAMQP, s.ch, perfAttach, nil,
		l.name, l.local, clientSends, raw(3), raw(4), src, tgt, nil, nil, initial, c.srv.opts.MaxMessageSize)
	if err != nil {
		return err
	}
	if refusal != nil {
		l.detached = true
		return c.write(frameAMQP, s.ch, perfDetach, nil, l.local, true, amqpError(refusal.cond, refusal.desc))
	}
	if clientSends {
		l.credit = linkCredit
		return c.linkFlow(s, l, false)
	}
	return nil
}

// sessionFields are the session part of a flow frame.
func (s *session) flowFields() []any {
	return []any{s.nextIncomingID, uint32(sessionWindow), s.nextOutgoingID, uint32(0xffffffff)}
}

func (c *conn) sessionFlow(s *session) error {
	s.sinceFlow = 0
	return c.write(frameAMQP, s.ch, perfFlow, nil, s.flowFields()...)
}

// linkFlow sends a link's flow state: granted credit for links we receive
// on, our delivery count and remaining credit for links we send on.
func (c *conn) linkFlow(s *session, l *link, drain bool) error {
	s.sinceFlow = 0
	fields := s.flowFields()
	if l.outgoing() {
		fields = append(fields, l.local, l.deliveryCount, l.available, nil, drain)
	} else {
		fields = append(fields, l.local, l.received, l.credit)
	}
	return c.write(frameAMQP, s.ch, perfFlow, nil, fields...)
}

func (c *conn) onFlow(s *session, f *frame) error {
	nextIn, hasNextIn := f.u32(0)
	window, _ := f.u32(1)
	if !hasNextIn {
		nextIn = 0
	}
	s.remoteWindow = nextIn + window - s.nextOutgoingID
	handle, hasHandle := f.u32(4)
	if !hasHandle {
		if f.bool(9) {
			return c.sessionFlow(s)
		}
		return c.pump()
	}
	l := s.links[handle]
	if l == nil {
		return &connError{"amqp:session:unattached-handle", fmt.Sprintf("flow for unknown handle %d", handle)}
	}
	if l.detached {
		return nil
	}
	if l.outgoing() {
		dc, ok := f.u32(5)
		if !ok {
			dc = 0
		}
		credit, _ := f.u32(6)
		l.available = dc + credit - l.deliveryCount
		l.drain = f.bool(8)
		if err := c.pumpLink(s, l); err != nil {
			return err
		}
		if f.bool(9) {
			return c.linkFlow(s, l, false)
		}
		return nil
	}
	if f.bool(9) {
		return c.linkFlow(s, l, false)
	}
	return nil
}

func (c *conn) onDetach(s *session, f *frame) error {
	handle, _ := f.u32(0)
	l := s.links[handle]
	if l == nil {
		return &connError{"amqp:session:unattached-handle", fmt.Sprintf("detach of unknown handle %d", handle)}
	}
	delete(s.links, handle)
	delete(s.out, l.local)
	if l.detached {
		return nil // the client answered our detach
	}
	return c.write(frameAMQP, s.ch, perfDetach, nil, l.local, true)
}

func (c *conn) onTransfer(s *session, f *frame) error {
	s.nextIncomingID++
	s.sinceFlow++
	handle, _ := f.u32(0)
	l := s.links[handle]
	if l == nil {
		return &connError{"amqp:session:unattached-handle", fmt.Sprintf("transfer on unknown handle %d", handle)}
	}
	if l.outgoing() {
		return &connError{"amqp:not-allowed", "transfer on a link the server sends on"}
	}
	if !l.detached {
		if err := c.receive(s, l, f); err != nil {
			return err
		}
	}
	if s.sinceFlow >= sessionWindow/2 {
		return c.sessionFlow(s)
	}
	return nil
}

// receive accumulates a delivery's frames and processes it when complete.
func (c *conn) receive(s *session, l *link, f *frame) error {
	if !l.more {
		id, ok := f.u32(1)
		if !ok {
			return &connError{"amqp:not-allowed", "first transfer of a delivery without a delivery-id"}
		}
		l.deliveryID = id
		l.format, _ = f.u32(3)
		l.settled = false
		l.buf, l.oversize = nil, false
	}
	l.settled = l.settled || f.bool(4)
	if f.bool(10) { // aborted
		l.more, l.buf, l.oversize = false, nil, false
		return nil
	}
	first := !l.more
	l.more = f.bool(5)
	var payload []byte
	switch {
	case first && !l.more:
		payload = f.payload // one frame: its buffer is ours alone
	case uint64(len(l.buf)+len(f.payload)) <= c.srv.opts.MaxMessageSize:
		l.buf = append(l.buf, f.payload...)
		payload = l.buf
	default:
		l.oversize = true // stop buffering; rejected when complete
	}
	if l.more {
		return nil
	}
	oversize := l.oversize
	l.buf, l.oversize = nil, false
	l.received++
	if l.credit > 0 {
		l.credit--
	}
	var state any
	switch {
	case oversize:
		state = rejected("amqp:link:message-size-exceeded",
			fmt.Sprintf("The received message (delivery-id:%d) exceeds the limit (%d bytes) currently allowed on the link.", l.deliveryID, c.srv.opts.MaxMessageSize))
	case l.kind == kindSend:
		state = c.enqueue(l, payload)
	case l.kind == kindCBS || l.kind == kindMgmt:
		state = c.request(l, payload)
	}
	if !l.settled {
		if err := c.write(frameAMQP, s.ch, perfDisposition, nil, true, l.deliveryID, nil, true, state); err != nil {
			return err
		}
	}
	if l.credit < linkCredit/2 {
		l.credit = linkCredit
		if err := c.linkFlow(s, l, false); err != nil {
			return err
		}
	}
	return c.pump()
}

var accepted = Described{Descriptor: uint64(descAccepted), Value: []any{}}

func rejected(cond, desc string) Described {
	return Described{Descriptor: uint64(descRejected), Value: []any{amqpError(cond, desc)}}
}

// enqueue stores a sent message or batch.
func (c *conn) enqueue(l *link, payload []byte) any {
	if err := c.authorize(l.entity, true); err != nil {
		return rejected(err.cond, err.desc)
	}
	if f := c.srv.failSends.Load(); f != nil {
		return rejected(f[0], f[1])
	}
	if max := c.srv.opts.MaxMessageSize; uint64(len(payload)) > max {
		return rejected("amqp:link:message-size-exceeded",
			fmt.Sprintf("The received message (delivery-id:%d, size:%d bytes) exceeds the limit (%d bytes) currently allowed on the link.", l.deliveryID, len(payload), max))
	}
	m, err := parseMessage(payload)
	if err != nil {
		return rejected("amqp:decode-error", err.Error())
	}
	var key *string
	if v, ok := m.annotations.Get("x-opt-partition-key"); ok {
		if s, ok := v.(string); ok {
			key = &s
		}
	}
	msgs, raws := []*parsedMessage{m}, [][]byte{payload}
	if l.format == batchMessageFomat {
		msgs, raws = nil, nil
		for _, d := range m.data {
			im, err := parseMessage(d)
			if err != nil {
				return rejected("amqp:decode-error", fmt.Sprintf("batched message %d: %v", len(msgs), err))
			}
			msgs, raws = append(msgs, im), append(raws, d)
		}
		if len(msgs) == 0 {
			return rejected("amqp:decode-error", "empty batch")
		}
	}
	if key != nil && l.partition >= 0 {
		return rejected("amqp:not-allowed", "a partition key cannot be used on a partition's link")
	}
	pi := c.srv.hub.pick(l.partition, key)
	if err := c.srv.hub.enqueue(pi, msgs, raws, key); err != nil {
		return rejected("amqp:internal-error", err.Error())
	}
	c.srv.deliveries.Add(1)
	return accepted
}

// request answers a $cbs or $management request on its reply link.
func (c *conn) request(l *link, payload []byte) any {
	m, err := parseMessage(payload)
	if err != nil {
		return rejected("amqp:decode-error", err.Error())
	}
	var status int32
	var desc string
	var value any
	if l.kind == kindCBS {
		status, desc = c.putToken(m)
	} else {
		status, desc, value = c.management(m)
	}
	props := []any{nil, nil, nil, nil, nil, m.messageID}
	reply, err := encodeMessage(props, Map{{"status-code", status}, {"status-description", desc}}, value)
	if err != nil {
		return rejected("amqp:internal-error", err.Error())
	}
	for _, s := range c.sessions {
		for _, rl := range s.out {
			if rl.kind == kindReply && !rl.detached && rl.target == m.replyTo {
				rl.pending = append(rl.pending, reply)
				return accepted
			}
		}
	}
	return rejected("amqp:not-found", fmt.Sprintf("no receiver is attached for reply-to %q", m.replyTo))
}

// putToken handles a $cbs put-token request.
func (c *conn) putToken(m *parsedMessage) (int32, string) {
	if op := m.appProps.String("operation"); op != "put-token" {
		return 400, fmt.Sprintf("unsupported $cbs operation %q", op)
	}
	token, _ := m.value.(string)
	audience := m.appProps.String("name")
	entity := entityPath(audience)
	if token == "" || audience == "" {
		return 400, "put-token needs a token body and a name"
	}
	var expiry string
	if v, ok := m.appProps.Get("expiration"); ok {
		expiry = fmt.Sprint(v)
	}
	cl, err := c.srv.verifyToken(m.appProps.String("type"), token, entity, expiry)
	if err != nil {
		var ae *authError
		if errors.As(err, &ae) {
			return ae.status, ae.msg
		}
		return 500, err.Error()
	}
	if seg, _, _ := strings.Cut(entity, "/"); seg != strings.ToLower(c.srv.hub.name) {
		return 404, fmt.Sprintf("The messaging entity '%s' could not be found.", audience)
	}
	c.claims = append(c.claims, cl)
	return 202, "Accepted"
}

// management answers READ of com.microsoft:eventhub and
// com.microsoft:partition.
func (c *conn) management(m *parsedMessage) (int32, string, any) {
	hub := c.srv.hub
	name := m.appProps.String("name")
	if op := m.appProps.String("operation"); op != "READ" {
		return 501, fmt.Sprintf("unsupported management operation %q", op), nil
	}
	if !strings.EqualFold(name, hub.name) {
		return 404, fmt.Sprintf("The messaging entity '%s' could not be found.", name), nil
	}
	entity := strings.ToLower(name)
	if tok := m.appProps.String("security_token"); tok != "" {
		if _, err := c.srv.verifyToken("", tok, entity, ""); err != nil {
			return 401, err.Error(), nil
		}
	} else if err := c.authorize(entity+"/$management", false); err != nil {
		return 401, err.desc, nil
	}
	switch typ := m.appProps.String("type"); typ {
	case "com.microsoft:eventhub":
		return 200, "OK", Map{
			{"name", hub.name}, {"type", typ}, {"created_at", hub.created},
			{"partition_count", int32(len(hub.parts))}, {"partition_ids", hub.partitionIDs()},
			{"georeplication_factor", int32(1)},
		}
	case "com.microsoft:partition":
		id := m.appProps.String("partition")
		pi := hub.partitionIndex(id)
		if pi < 0 {
			return 404, fmt.Sprintf("The partition '%s' of event hub '%s' does not exist.", id, hub.name), nil
		}
		in := hub.info(pi)
		return 200, "OK", Map{
			{"name", hub.name}, {"type", typ}, {"partition", id},
			{"begin_sequence_number", in.begin}, {"last_enqueued_sequence_number", in.last},
			{"last_enqueued_offset", fmt.Sprint(in.lastOffset)}, {"last_enqueued_time_utc", in.lastTime},
			{"is_partition_empty", in.empty},
		}
	default:
		return 400, fmt.Sprintf("unsupported management type %q", typ), nil
	}
}

// pump sends whatever every outgoing link has credit for.
func (c *conn) pump() error {
	for _, s := range c.sessions {
		for _, l := range s.out {
			if l.outgoing() && !l.detached {
				if err := c.pumpLink(s, l); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *conn) pumpLink(s *session, l *link) error {
	maxPayload := int(min(c.peerMax, 1<<24)) - 64
	for l.available > 0 {
		var wire []byte
		if l.kind == kindReply {
			if len(l.pending) == 0 {
				break
			}
			wire = l.pending[0]
		} else {
			st := c.srv.hub.get(l.partition, l.nextSeq)
			if st == nil {
				break
			}
			wire = st.wire
			l.nextSeq = st.msg.SequenceNumber
		}
		frames := uint32((len(wire) + maxPayload - 1) / maxPayload)
		if s.remoteWindow < max(frames, 1) {
			break // wait for the client to widen the session window
		}
		if l.kind == kindReply {
			l.pending = l.pending[1:]
		} else {
			l.nextSeq++
		}
		if err := c.transfer(s, l, wire, maxPayload); err != nil {
			return err
		}
	}
	if l.drain {
		l.drain = false
		l.deliveryCount += l.available
		l.available = 0
		return c.linkFlow(s, l, true)
	}
	return nil
}

// transfer sends one pre-settled delivery, split into frames.
func (c *conn) transfer(s *session, l *link, wire []byte, maxPayload int) error {
	id := s.nextDeliveryID
	s.nextDeliveryID++
	tag := binary.BigEndian.AppendUint64(nil, l.tag)
	l.tag++
	for off := 0; ; {
		end := min(off+maxPayload, len(wire))
		more := end < len(wire)
		var err error
		if off == 0 {
			err = c.write(frameAMQP, s.ch, perfTransfer, wire[off:end], l.local, id, tag, uint32(0), true, more)
		} else {
			err = c.write(frameAMQP, s.ch, perfTransfer, wire[off:end], l.local, nil, nil, nil, true, more)
		}
		if err != nil {
			return err
		}
		s.nextOutgoingID++
		s.remoteWindow--
		off = end
		if !more {
			break
		}
	}
	l.deliveryCount++
	l.available--
	return nil
}
