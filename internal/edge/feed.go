package edge

import (
	"context"
	"encoding/json"
	"time"

	"github.com/latchkey/latchkey/internal/changefeed"
	"github.com/latchkey/latchkey/internal/edge/cache"
	"github.com/latchkey/latchkey/internal/purge"
	"github.com/latchkey/latchkey/internal/store"
)

// localKeep is how long a purge applied locally is remembered while waiting for the feed.
const localKeep = time.Hour

// Start runs the edge's background work until Close: following the change feed (Options.Feed),
// recording this process's heartbeat, and flushing traffic counts.
func (e *Edge) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.stop = cancel
	if f := e.opts.Feed; f != nil {
		e.changes = make(chan changefeed.Change, 4096)
		e.unsubscribe = f.Subscribe(e.enqueue)
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.applyLoop(ctx)
		}()
	}
	e.heartbeat(ctx)
	e.loop(ctx, e.opts.HeartbeatInterval, func(ctx context.Context) error { e.heartbeat(ctx); return nil }, "edge heartbeat")
	e.loop(ctx, e.opts.FlushInterval, e.traffic.Flush, "write edge traffic")
	return nil
}

// enqueue is the edge's change-feed subscriber: it hands the change to applyLoop without waiting
// (the feed serves other subscribers too). When the queue is full, the edge resets instead.
func (e *Edge) enqueue(c changefeed.Change) {
	if !c.Reset && c.Kind != store.EdgeChangePurge && c.Kind != store.EdgeChangeFirewall {
		return
	}
	select {
	case e.changes <- c:
	default:
		e.overflow.Store(true)
	}
}

func (e *Edge) applyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-e.changes:
			if e.overflow.Swap(false) {
				e.resetAll()
			}
			if err := e.Apply(ctx, c); err != nil && ctx.Err() == nil {
				e.logger.Warn("edge: apply change; emptying the cache", "kind", c.Kind, "err", err)
				e.resetAll()
			}
		}
	}
}

// Apply applies one change of the feed: a purge, changed access rules, or a reset (which empties
// the cache and forgets every access rule and host, since what was missed is unknown).
func (e *Edge) Apply(ctx context.Context, c changefeed.Change) error {
	switch {
	case c.Reset:
		e.resetAll()
	case c.Kind == store.EdgeChangePurge:
		for _, id := range c.IDs {
			if err := e.applyPurge(ctx, id); err != nil {
				return err
			}
		}
	case c.Kind == store.EdgeChangeFirewall:
		for _, id := range c.IDs {
			e.RulesChanged(id)
		}
	}
	return nil
}

func (e *Edge) loop(ctx context.Context, every time.Duration, fn func(context.Context) error, what string) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					e.logger.Warn("edge background job failed", "job", what, "err", err)
				}
			}
		}
	}()
}

func (e *Edge) heartbeat(ctx context.Context) {
	n := &store.EdgeNode{ID: e.nodeID, Addr: e.opts.Addr, GeoIP: e.opts.GeoIP != nil, StartedAt: e.started, SeenAt: time.Now().UTC()}
	if err := store.TouchEdgeNode(e.db.Gorm(ctx), n); err != nil && ctx.Err() == nil {
		e.logger.Warn("edge heartbeat", "err", err)
	}
}

// Close stops the background work, writes the last traffic counts and removes this process's
// heartbeat.
func (e *Edge) Close() {
	if e.unsubscribe != nil {
		e.unsubscribe()
	}
	if e.stop != nil {
		e.stop()
		e.wg.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.traffic.Flush(ctx); err != nil {
		e.logger.Warn("write edge traffic at shutdown", "err", err)
	}
	if e.stop != nil {
		if err := store.DeleteEdgeNode(e.db.Gorm(ctx), e.nodeID, time.Now().UTC().Add(-24*time.Hour)); err != nil {
			e.logger.Warn("remove edge heartbeat", "err", err)
		}
	}
}

func (e *Edge) resetAll() {
	e.cache.PurgeAll()
	e.dropAllRules()
	e.hosts.InvalidateAll()
}

// applyPurge evicts what the recorded purge id selects and marks when it took effect.
func (e *Edge) applyPurge(ctx context.Context, id string) error {
	e.localMu.Lock()
	at, local := e.local[id]
	delete(e.local, id)
	e.localMu.Unlock()
	if local {
		return store.MarkPurgeApplied(e.db.Gorm(ctx), id, at)
	}
	p, err := store.PurgeRequestByID(e.db.Gorm(ctx), id)
	if err != nil {
		return nil // the zone was deleted since: its objects can no longer be served anyway
	}
	sel, err := selectorOf(p.Kind, p.Items)
	if err != nil {
		e.logger.Warn("edge: unreadable purge; emptying the cache", "purge", id, "err", err)
		e.cache.PurgeAll()
	} else {
		e.cache.Purge(p.ZoneID, sel)
	}
	return store.MarkPurgeApplied(e.db.Gorm(ctx), id, time.Now().UTC().Truncate(time.Microsecond))
}

func selectorOf(kind, items string) (cache.Selector, error) {
	sel := cache.Selector{Kind: kind}
	var err error
	switch purge.Kind(kind) {
	case purge.KindFiles:
		var fs []purge.File
		err = json.Unmarshal([]byte(items), &fs)
		for _, f := range fs {
			sel.Files = append(sel.Files, cache.File{URL: f.URL, Headers: f.Headers})
		}
	case purge.KindTags:
		err = json.Unmarshal([]byte(items), &sel.Tags)
	case purge.KindHosts:
		err = json.Unmarshal([]byte(items), &sel.Hosts)
	case purge.KindPrefixes:
		err = json.Unmarshal([]byte(items), &sel.Prefixes)
	}
	return sel, err
}

// Purge evicts at once, on this process, what req selects in the zone; it is the purge
// service's Purger. Other processes apply the purge from the change feed; this one only marks it
// applied when the feed brings it, since applying it again would evict objects fetched after it.
func (e *Edge) Purge(_ context.Context, purgeID, zoneID string, req purge.Request) error {
	sel := cache.Selector{Kind: string(req.Kind), Tags: req.Tags, Hosts: req.Hosts, Prefixes: req.Prefixes}
	for _, f := range req.Files {
		sel.Files = append(sel.Files, cache.File{URL: f.URL, Headers: f.Headers})
	}
	e.cache.Purge(zoneID, sel)
	now := time.Now().UTC().Truncate(time.Microsecond)
	e.localMu.Lock()
	for id, at := range e.local {
		if now.Sub(at) > localKeep {
			delete(e.local, id)
		}
	}
	e.local[purgeID] = now
	e.localMu.Unlock()
	return nil
}

// Status says whether edge processes are running, for the dashboard.
type Status struct {
	// Nodes are the edge processes seen within NodeTimeout.
	Nodes []store.EdgeNode
}

// Running reports whether any edge process is running.
func (s Status) Running() bool { return len(s.Nodes) > 0 }

// GeoIP reports whether every running edge process can evaluate ASN and country rules.
func (s Status) GeoIP() bool {
	for _, n := range s.Nodes {
		if !n.GeoIP {
			return false
		}
	}
	return len(s.Nodes) > 0
}

// ReadStatus returns the edge processes sharing db that are running now.
func ReadStatus(ctx context.Context, db *store.DB) (Status, error) {
	ns, err := store.LiveEdgeNodes(db.Gorm(ctx), time.Now().UTC().Add(-NodeTimeout))
	return Status{Nodes: ns}, err
}
