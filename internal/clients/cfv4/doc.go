// Package cfv4 holds the cloudflare-go v4 client suite: the real SDK
// (github.com/cloudflare/cloudflare-go/v4) drives an in-process Latchkey API server, and every
// object it decodes is checked for the fields the SDK marks required. It lives in its own package
// because the SDK is slow to compile, so that no other package's tests pay for it.
package cfv4
