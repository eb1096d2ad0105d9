package scale

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Goals of issue 10 that the table reports on.
const (
	// MaxGrowth is the largest allowed ratio of a list's p50 at the largest size to its p50 at
	// the smallest.
	MaxGrowth = 1.5
	// MaxP99 bounds the p99 of a zone read and a record page at the largest size.
	MaxP99 = 20 * time.Millisecond
)

// growthGoal lists the requests whose p50 must stay within MaxGrowth.
var growthGoal = map[string]bool{ZonesAll: true, ZonesOne: true, RecordsACM: true}

// p99Goal lists the requests whose p99 must stay under MaxP99 at the largest size.
var p99Goal = map[string]bool{ZoneGet: true, RecordsAll: true}

// WriteTable prints results as markdown: per database a table of every request at every size
// with the ratios of p50 and p99 to the smallest size, the write phase, and the goals met or
// missed. It returns the number of goals missed.
func WriteTable(w io.Writer, results []Result, o Options) int {
	o.defaults()
	missed := 0
	for _, dbName := range databases(results) {
		rs := of(results, dbName)
		if len(rs) == 0 {
			continue
		}
		caches := ""
		if o.ListCacheMemory != "" {
			caches = ", LATCHKEY_LIST_CACHE_MEMORY=" + o.ListCacheMemory
		}
		fmt.Fprintf(w, "\n#### %s — %d read clients, %d write clients, %s per measurement%s\n\n", dbName, o.ReadConns, o.WriteConns, o.Duration, caches)
		fmt.Fprintln(w, "| request | size | p50 ms | p99 ms | req/s | p50 × smallest | p99 × smallest |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|")
		for _, name := range append(append([]string{}, Reads...), Create) {
			if !o.measures(name) {
				continue
			}
			base := rs[0].Stats[name]
			for _, r := range rs {
				st := r.Stats[name]
				fail := ""
				if st.Failures > 0 {
					fail = fmt.Sprintf(" (%d failed)", st.Failures)
				}
				fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %s%s | %s | %s |\n", name, r.Size, ms(st.P50), ms(st.P99),
					Thousands(int(st.PerSecond+0.5)), fail, ratio(st.P50, base.P50), ratio(st.P99, base.P99))
			}
		}
		if o.measures(Create) {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "| DNS creates | size | creates/s | p50 ms | p99 ms | written exactly once |")
			fmt.Fprintln(w, "|---|---|---:|---:|---:|---|")
			for _, r := range rs {
				st := r.Stats[Create]
				fmt.Fprintf(w, "| %d clients | %s | %s | %.2f | %.2f | %s |\n", o.WriteConns, r.Size, Thousands(int(st.PerSecond+0.5)), ms(st.P50), ms(st.P99), r.Writes)
			}
		}
		fmt.Fprintln(w)
		last := rs[len(rs)-1]
		for _, name := range Reads {
			if !o.measures(name) {
				continue
			}
			if growthGoal[name] && len(rs) > 1 {
				g := float64(last.Stats[name].P50) / float64(max(1, rs[0].Stats[name].P50))
				ok := g <= MaxGrowth
				missed += b2i(!ok)
				fmt.Fprintf(w, "- %s %s: p50 at %s is %.2f× that at %s (goal ≤ %.1f×)\n", mark(ok), name, last.Size, g, rs[0].Size, MaxGrowth)
			}
			if p99Goal[name] {
				p := last.Stats[name].P99
				ok := p < MaxP99
				missed += b2i(!ok)
				fmt.Fprintf(w, "- %s %s: p99 at %s is %.2f ms (goal < %s at %d clients)\n", mark(ok), name, last.Size, ms(p), MaxP99, o.ReadConns)
			}
		}
		for _, r := range rs {
			if o.measures(Create) && !r.Writes.OK() {
				missed++
				fmt.Fprintf(w, "- %s creates at %s: %s\n", mark(false), r.Size, r.Writes)
			}
			for _, p := range r.Problems {
				missed++
				fmt.Fprintf(w, "- %s answer at %s: %s\n", mark(false), r.Size, p)
			}
			for _, name := range append(append([]string{}, Reads...), Create) {
				if st := r.Stats[name]; st.Failures > 0 {
					fmt.Fprintf(w, "- note: %s at %s: %d of %d failed, first: %s\n", name, r.Size, st.Failures, st.Requests, st.FirstFailure)
				}
			}
		}
		if len(rs) > 0 {
			var seeds []string
			for _, r := range rs {
				seeds = append(seeds, fmt.Sprintf("%s in %s", r.Size, r.SeedTime.Round(time.Second)))
			}
			fmt.Fprintf(w, "- seeded: %s\n", strings.Join(seeds, "; "))
		}
	}
	return missed
}

func databases(rs []Result) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs {
		if !seen[r.Database] {
			seen[r.Database] = true
			out = append(out, r.Database)
		}
	}
	return out
}

func of(rs []Result, dbName string) []Result {
	var out []Result
	for _, r := range rs {
		if r.Database == dbName {
			out = append(out, r)
		}
	}
	return out
}

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

func mark(ok bool) string {
	if ok {
		return "met:"
	}
	return "**missed:**"
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
