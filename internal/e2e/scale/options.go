package scale

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/config"
)

// ParseSizes parses sizes written as zones:records:tokens, comma-separated (for example
// "10:100:10,1000:10000:1000"), and returns them smallest first whatever order they are listed
// in, since every ratio of the table is to the smallest size. Zones and records must be at least 1
// and tokens at least 0. A size listed twice is refused, and so are sizes that do not grow
// together (one with more zones but fewer records than another): no size is then the smallest.
func ParseSizes(s string) ([]Size, error) {
	var out []Size
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, errors.New("an empty size (a comma too many?)")
		}
		f := strings.Split(part, ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("%q: want zones:records:tokens, e.g. 1000:10000:1000", part)
		}
		var n [3]int
		for i, name := range []string{"zones", "records", "tokens"} {
			least := 1
			if name == "tokens" {
				least = 0
			}
			x, err := strconv.Atoi(strings.TrimSpace(f[i]))
			if err != nil {
				return nil, fmt.Errorf("%q: %s %q is not a whole number", part, name, f[i])
			}
			if x < least {
				return nil, fmt.Errorf("%q: %s must be at least %d", part, name, least)
			}
			n[i] = x
		}
		out = append(out, Size{Zones: n[0], Records: n[1], Tokens: n[2]})
	}
	slices.SortFunc(out, func(a, b Size) int {
		if c := a.Zones - b.Zones; c != 0 {
			return c
		}
		if c := a.Records - b.Records; c != 0 {
			return c
		}
		return a.Tokens - b.Tokens
	})
	if err := checkSizes(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkSizes reports sizes that are not smallest first, listed twice, or do not grow together.
func checkSizes(sizes []Size) error {
	for i, s := range sizes {
		if s.Zones < 1 || s.Records < 1 || s.Tokens < 0 {
			return fmt.Errorf("%s: zones and records must be at least 1 and tokens at least 0", sizeArg(s))
		}
		if i == 0 {
			continue
		}
		p := sizes[i-1]
		switch {
		case p == s:
			return fmt.Errorf("%s is listed twice", sizeArg(s))
		case atMost(p, s):
		case atMost(s, p):
			return fmt.Errorf("%s comes after the larger %s: list the sizes smallest first", sizeArg(s), sizeArg(p))
		default:
			return fmt.Errorf("%s and %s do not grow together (every count of the larger size must be at least that of the smaller), so neither is the smaller one to compare with", sizeArg(p), sizeArg(s))
		}
	}
	return nil
}

// atMost says whether every count of a is at most that of b.
func atMost(a, b Size) bool {
	return a.Zones <= b.Zones && a.Records <= b.Records && a.Tokens <= b.Tokens
}

// sizeArg writes s as the -sizes flag takes it.
func sizeArg(s Size) string { return fmt.Sprintf("%d:%d:%d", s.Zones, s.Records, s.Tokens) }

// Names returns every measured request's name, in table order: the reads, then the DNS record
// create.
func Names() []string { return append(slices.Clone(Reads), Create) }

// CheckOnly reports an Options.Only entry that is empty or selects no request, and lists the
// requests' names, so that a mistyped filter fails instead of measuring nothing.
func CheckOnly(only []string) error {
	for _, s := range only {
		if strings.TrimSpace(s) == "" {
			return errors.New("an entry is empty; give parts of request names, comma-separated")
		}
		if !slices.ContainsFunc(Names(), func(name string) bool { return strings.Contains(name, s) }) {
			return fmt.Errorf("%q is part of no request's name; the requests are:\n\t%s", s, strings.Join(Names(), "\n\t"))
		}
	}
	return nil
}

// Validate reports options that cannot make a meaningful run: an unknown or repeated database,
// sizes that are not smallest first (see ParseSizes), an Only entry that selects nothing, or a
// ListCacheMemory the server would refuse.
// Run calls it first; the load driver calls it before it creates any file.
func (o Options) Validate() error {
	o.defaults()
	seen := map[string]bool{}
	for _, d := range o.Databases {
		if d != "sqlite" && d != "postgres" {
			return fmt.Errorf("unknown database %q (want sqlite, postgres or both, comma-separated)", d)
		}
		if seen[d] {
			return fmt.Errorf("database %q is listed twice", d)
		}
		seen[d] = true
	}
	if err := checkSizes(o.Sizes); err != nil {
		return fmt.Errorf("sizes: %w", err)
	}
	if err := CheckOnly(o.Only); err != nil {
		return fmt.Errorf("only: %w", err)
	}
	if o.ListCacheMemory != "" {
		// The server would refuse it only after the first size is seeded.
		if _, err := config.ParseListCacheMemory(o.ListCacheMemory); err != nil {
			return fmt.Errorf("list cache: %w", err)
		}
	}
	return nil
}
