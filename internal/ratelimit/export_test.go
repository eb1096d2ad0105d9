package ratelimit

// WaitRefills waits for the blocks being reserved in the background.
func (l *Limiter) WaitRefills() { l.refills.Wait() }
