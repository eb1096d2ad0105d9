package tokens

import "time"

// SetNewSecretForTest makes s hand out secrets from f on create and roll.
func SetNewSecretForTest(s *Service, f func(OwnerKind) string) { s.newSecret = f }

// SetPollIntervalForTest sets how often s's own feed polls (call before Start).
func SetPollIntervalForTest(s *Service, d time.Duration) { s.pollInterval = d }

// MissedForTest reports whether s has secret cached as matching no token.
func MissedForTest(s *Service, secret string) bool {
	p, err := Parse(secret)
	return err == nil && s.cache.missed(p.Hash)
}
