// Package authz is Latchkey's policy engine: it decides whether an API token,
// or a user through their account memberships, may use a permission group on
// a resource. It is pure: standard library only, no HTTP, no database, no
// clock. Handlers authenticate, load the token and the owner's memberships,
// then ask this package.
//
// # The model in five minutes
//
// A permission group ([Perm], [Group]) is a named capability with
// Cloudflare's id, such as "DNS Write" (4755a26eedb94da69e1066d98aa820be). Each
// group has a [Scope]: zone, account or user. [Groups] lists the catalogue.
//
// A resource ([Resource]) is what a request touches: a zone (which carries its
// account's id), an account, or a user. Its key is Cloudflare's string, such as
// com.cloudflare.api.account.zone.<ZONE_ID>.
//
// A policy grants or takes away groups on resources. On the wire it is
// Cloudflare's shape ([PolicyJSON]):
//
//	{"effect": "allow",
//	 "permission_groups": [{"id": "c8fed203ed3043cba015a93ad1616f1f"},   // Zone Read
//	                       {"id": "4755a26eedb94da69e1066d98aa820be"}],  // DNS Write
//	 "resources": {"com.cloudflare.api.account.zone.023e105f4ecef8ad9ca31a8372d0c353": "*"}}
//
// [ParsePolicies] validates a list of these (every error is a
// [*ValidationError] naming the field, such as
// "policies[0].permission_groups[1].id") and returns canonical [Policy] values;
// [Policy.JSON] writes them back, with group names filled in.
//
// # Resource keys
//
//	com.cloudflare.api.account.zone.<ID>: "*"      one zone
//	com.cloudflare.api.account.zone.*: "*"         every zone, in every account
//	com.cloudflare.api.account.<ID>: {"com.cloudflare.api.account.zone.*": "*"}
//	                                               every zone of one account, now and later
//	com.cloudflare.api.account.<ID>: "*"           one account
//	com.cloudflare.api.account.*: "*"              every account
//	com.cloudflare.api.user.<ID>: "*"              one user
//	com.cloudflare.api.user.*: "*"                 every user (in effect, the token's owner)
//	com.cloudflare.api.account.<ID>: {"com.cloudflare.api.account.kv.namespace.<NS>": "*", …}
//	                                               some Workers KV namespaces of one account
//
// The last form is Latchkey's extension. It lives inside the nested map that
// Cloudflare already defines for account keys, so every tool that reads
// Cloudflare policies (cloudflare-go decodes resources as map[string]any,
// Terraform as a JSON map) still accepts and round-trips it; only the inner key
// is new. A nested map may mix "com.cloudflare.api.account.zone.*": "*" with
// namespace keys. A namespace key stands only under the key of the account it
// belongs to (never at the top level, never under account.*), so it can never
// reach a namespace of another account, and it reaches only the Workers KV
// groups (Workers KV Storage Read and Write): a policy granting Billing Read on
// a namespace key simply never matches. A namespace is a [Resource] of account
// scope with Namespace set ([KVNamespace]): account keys (account.<ID>,
// account.*) reach all the account's namespaces, a namespace key reaches its
// namespace only, and never the account itself, so creating and listing
// namespaces (decided on [Account]) need an account key. To let a token use
// every namespace but one, allow the KV group on the account and deny it on
// that namespace's key. [Compiled.Namespaces] gives the set a list endpoint
// shows (every namespace except some, or exactly some), so that lists are
// filtered in the database.
//
// A group applies only to resources of its own scope. Zone groups reach a zone
// through its zone key, zone.*, or the nested all-zones-of-account form. A bare
// com.cloudflare.api.account.<ID>: "*" does NOT reach that account's zones for
// zone groups (Cloudflare leaves this open; we require the explicit nested
// form, so an account key never widens silently). Account groups reach
// account.<ID> and account.*. User groups reach user.<ID> and user.*: a user
// token is always capped by its owner's access (see below), and the owner
// holds user groups only on themselves, so user.* cannot reach anyone else.
// Account-owned tokens act for no user: handlers of /user routes must refuse
// them before asking.
//
// A policy whose groups fit none of its keys (DNS Write on an account key) is
// valid and simply never matches.
//
// # Evaluation
//
// For a permission group P on a resource R:
//
//  1. if any deny policy matching (P, R) exists, deny;
//  2. else if any allow policy matching (P, R) exists, allow;
//  3. else deny. No policies at all means deny.
//
// Write implies Read of the same group: an allow of DNS Write also allows DNS
// Read. Conversely a deny of DNS Read also denies DNS Write (a holder who may
// write records may read them, so taking away reading must take away writing).
// Both expansions happen at compile time.
//
// To exclude one zone from an "all zones" grant, add a deny policy on it:
//
//	[{"effect": "allow", "permission_groups": [{"id": "<DNS Write>"}],
//	  "resources": {"com.cloudflare.api.account.<A>": {"com.cloudflare.api.account.zone.*": "*"}}},
//	 {"effect": "deny", "permission_groups": [{"id": "<DNS Write>"}],
//	  "resources": {"com.cloudflare.api.account.zone.<PROD>": "*"}}]
//
// (That leaves DNS Read on PROD; deny DNS Read instead to take both away.)
//
// [Compile] turns a policy list into a [Compiled] value: per resource key, a
// few uint64 bitsets indexed by [Perm] (allows, denies). [Compiled.Decide]
// then does at most two map lookups and some bit tests, and never allocates.
// Compile once per token (and cache it with the verified token); decide per
// request. The [Decision] says why it denied, and [Decision.Reason] puts it in
// words safe for a 403 body: `requires "DNS Write" on
// com.cloudflare.api.account.zone.<id>`.
//
// # Tokens, owners and memberships
//
// A membership is expressed as policies of the same shape
// ([MembershipPolicies]): the role's account groups on the account, its zone
// groups on all zones of the account (or on listed zones), and, for every
// user, User Details Read/Write, API Tokens Read/Write and Memberships Read on
// themselves ([SelfPolicy]). A user's access is the concatenation over their
// accepted memberships; compile it like a token's.
//
// A user-owned token may never do more than its owner may do now, so decide
// with [Both](token, owner, P, R): both must allow. Narrowing a role or
// removing a member takes effect on the member's tokens at the next decision
// (after the caller invalidates the cached owner). Account-owned tokens have
// no owner: use the token's Decide alone.
//
// # DNS record constraints
//
// A policy whose groups are only DNS Read and/or DNS Write may carry
// "dns_records": {"names": [...], "types": [...]} ([DNSConstraint]). An ACME
// DNS-01 key, for example:
//
//	{"effect": "allow",
//	 "permission_groups": [{"id": "4755a26eedb94da69e1066d98aa820be"}],
//	 "resources": {"com.cloudflare.api.account.zone.*": "*"},
//	 "dns_records": {"names": ["_acme-challenge.*"], "types": ["TXT"]}}
//
// (plus Zone Read in a second policy, so the client can find the zone).
//
// Name patterns: "@" is the apex; a plain name is relative to the zone unless
// it equals the zone or ends with ".<zone>" (then it is an FQDN, as the API
// treats record names); a trailing dot makes it an FQDN always; "*" stands for
// one or more whole labels, either as the first label ("*.dev" = anything
// below dev.<zone>; "*" alone = anything below the apex) or as the last
// ("_acme-challenge.*" = _acme-challenge.<zone>, _acme-challenge.www.<zone>,
// …). Types are record types, case-insensitive. A record matches when its name
// matches a pattern (or there are none) and its type is listed (or none are).
//
// A constrained allow grants only matching records; a constrained deny denies
// only matching records. So:
//
//   - [Compiled.Decide] without a record allows DNS Write when any allow
//     matches, constrained or not, and ignores constrained denies;
//   - [Compiled.Constrained] says whether some records may still be refused;
//     list endpoints then filter with DecideDNS;
//   - [Compiled.DecideDNS] decides for one record (its FQDN, the zone apex and
//     its type); every create, update and delete of a record must use it, for
//     the record before the change and, on update, after it.
//
// A record outside the given zone, or in a zone whose apex has a single label,
// matches no constrained allow and every constrained deny.
//
// # Conditions
//
// A token's condition restricts client addresses: {"request.ip": {"in":
// [CIDR...], "not_in": [CIDR...]}}. [Condition] reads "request.ip" or
// "request_ip" and writes both. [ParseCondition] validates and normalises it
// to [IPRules]; [IPRules.Allows] checks an address. With "in" set, the
// address must be in one of its prefixes; it must be in none of "not_in".
// Empty lists (or no condition) restrict nothing.
//
// # Child tokens
//
// A token minted by another token, or by a user in the dashboard, must be a
// subset of what its creator may do: check [Subset](child, owner) and
// [Subset](child, creatingToken), and [IPSubset] for conditions. Subset is
// symbolic: it holds for zones, accounts and users that do not exist yet,
// counts deny policies on both sides, and DNS constraints (a constrained child
// fits in an unconstrained parent, not the reverse). On failure it names the
// first child policy and the group and resource it grants in excess.
//
// Namespace keys name their account, so Subset decides them exactly without a
// lookup.
//
// Symbolically, com.cloudflare.api.account.zone.<Z> is a zone of any account,
// so a token for one zone is not within "all zones of account A" unless Subset
// knows that Z belongs to A: token services should call [SubsetWithZones]
// with a lookup of the zones the policies name.
package authz
