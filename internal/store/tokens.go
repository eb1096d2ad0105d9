package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/latchkey/latchkey/internal/errs"
)

// API token owner kinds, as stored in api_tokens.owner_kind.
const (
	TokenOwnerUser    = "user"
	TokenOwnerAccount = "account"
)

// APIToken is one row of api_tokens. Policies and Condition hold the API's wire JSON.
type APIToken struct {
	ID         string `gorm:"primaryKey"`
	OwnerKind  string
	UserID     *string
	AccountID  *string
	CreatedBy  string
	Name       string
	Policies   string
	Condition  *string
	NotBefore  *time.Time
	ExpiresOn  *time.Time
	Status     string
	SecretHash string
	SecretHint string
	ParentID   *string
	IssuedOn   time.Time
	ModifiedOn time.Time
	LastUsedOn *time.Time
}

// TokenOwner selects the tokens of one owner: a user (UserID) or an account (AccountID).
type TokenOwner struct {
	Kind      string
	UserID    string
	AccountID string
}

func (o TokenOwner) scope(tx *gorm.DB) *gorm.DB {
	if o.Kind == TokenOwnerAccount {
		return tx.Where("owner_kind = ? AND account_id = ?", TokenOwnerAccount, o.AccountID)
	}
	return tx.Where("owner_kind = ? AND user_id = ?", TokenOwnerUser, o.UserID)
}

// CreateAPIToken inserts t.
func CreateAPIToken(tx *gorm.DB, t *APIToken) error {
	if err := tx.Create(t).Error; err != nil {
		return fmt.Errorf("create api token: %w", err)
	}
	return nil
}

// CountAPITokens returns how many tokens the owner has.
func CountAPITokens(tx *gorm.DB, o TokenOwner) (int64, error) {
	var n int64
	if err := o.scope(tx.Model(&APIToken{})).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count api tokens: %w", err)
	}
	return n, nil
}

// ListAPITokens returns one page of the owner's tokens by issue time (newest first unless
// ascending) and the total count.
func ListAPITokens(tx *gorm.DB, o TokenOwner, ascending bool, offset, limit int) ([]APIToken, int64, error) {
	total, err := CountAPITokens(tx, o)
	if err != nil {
		return nil, 0, err
	}
	order := "issued_on DESC, id DESC"
	if ascending {
		order = "issued_on, id"
	}
	ts := []APIToken{}
	if err := o.scope(tx.Model(&APIToken{})).Order(order).Offset(offset).Limit(limit).Find(&ts).Error; err != nil {
		return nil, 0, fmt.Errorf("list api tokens: %w", err)
	}
	return ts, total, nil
}

// APITokenByID finds a token of the owner; another owner's token is NotFound.
func APITokenByID(tx *gorm.DB, o TokenOwner, id string) (*APIToken, error) {
	var t APIToken
	if err := o.scope(tx).Where("id = ?", id).Take(&t).Error; err != nil {
		return nil, notFound(err, "token")
	}
	return &t, nil
}

// APITokenByIDAnyOwner finds a token by id alone, for the authentication path and the change feed.
func APITokenByIDAnyOwner(tx *gorm.DB, id string) (*APIToken, error) {
	var t APIToken
	if err := tx.Where("id = ?", id).Take(&t).Error; err != nil {
		return nil, notFound(err, "token")
	}
	return &t, nil
}

// APITokenBySecretHash finds a token by the hex SHA-256 of its secret.
func APITokenBySecretHash(tx *gorm.DB, hash string) (*APIToken, error) {
	var t APIToken
	if err := tx.Where("secret_hash = ?", hash).Take(&t).Error; err != nil {
		return nil, notFound(err, "token")
	}
	return &t, nil
}

// UpdateAPIToken saves the token's mutable fields (everything but id, owner and issue time).
func UpdateAPIToken(tx *gorm.DB, t *APIToken) error {
	err := tx.Model(t).Select("name", "policies", "condition", "not_before", "expires_on", "status",
		"secret_hash", "secret_hint", "modified_on").Updates(t).Error
	if err != nil {
		return fmt.Errorf("update api token: %w", err)
	}
	return nil
}

// DeleteAPIToken removes a token of the owner.
func DeleteAPIToken(tx *gorm.DB, o TokenOwner, id string) error {
	res := o.scope(tx).Where("id = ?", id).Delete(&APIToken{})
	if res.Error != nil {
		return fmt.Errorf("delete api token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.NotFound, "token not found")
	}
	return nil
}

// TouchAPITokens sets last_used_on to at for the given tokens, never moving it backwards.
func TouchAPITokens(tx *gorm.DB, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	err := tx.Model(&APIToken{}).Where("id IN ? AND (last_used_on IS NULL OR last_used_on < ?)", ids, at).
		Update("last_used_on", at).Error
	if err != nil {
		return fmt.Errorf("record token use: %w", err)
	}
	return nil
}

// AuthChange is one row of the change feed.
type AuthChange struct {
	Seq       int64 `gorm:"primaryKey;autoIncrement:false"`
	Kind      string
	Subject   string
	CreatedAt time.Time
}

// RecordAuthChange bumps the change counter and appends a change row, in tx. Call it in the same
// transaction as the change it announces. Prefer changefeed.Record, which also notifies other
// processes on PostgreSQL.
func RecordAuthChange(tx *gorm.DB, kind, subject string) error {
	_, err := RecordChange(tx, kind, subject)
	return err
}

// RecordChange is RecordAuthChange returning the new sequence number.
func RecordChange(tx *gorm.DB, kind, subject string) (int64, error) {
	var seq int64
	if err := tx.Raw("UPDATE auth_change_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq").Scan(&seq).Error; err != nil {
		return 0, fmt.Errorf("bump auth change counter: %w", err)
	}
	if seq == 0 {
		return 0, fmt.Errorf("bump auth change counter: counter row missing")
	}
	c := &AuthChange{Seq: seq, Kind: kind, Subject: subject, CreatedAt: time.Now().UTC()}
	if err := tx.Create(c).Error; err != nil {
		return 0, fmt.Errorf("record auth change: %w", err)
	}
	return seq, nil
}

// AuthChangeSeq returns the current value of the change counter.
func AuthChangeSeq(tx *gorm.DB) (int64, error) {
	var seq int64
	if err := tx.Raw("SELECT seq FROM auth_change_counter WHERE id = 1").Scan(&seq).Error; err != nil {
		return 0, fmt.Errorf("read auth change counter: %w", err)
	}
	return seq, nil
}

// AuthChangeHead returns the change counter and the creation time of the row it points at (zero
// when that row does not exist), in one query: together they tell a follower whether the history
// it saw is still the database's.
func AuthChangeHead(tx *gorm.DB) (int64, time.Time, error) {
	var row struct {
		Seq       int64
		CreatedAt *time.Time
	}
	err := tx.Raw("SELECT c.seq AS seq, ch.created_at AS created_at FROM auth_change_counter c " +
		"LEFT JOIN auth_changes ch ON ch.seq = c.seq WHERE c.id = 1").Scan(&row).Error
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read auth change counter: %w", err)
	}
	var at time.Time
	if row.CreatedAt != nil {
		at = row.CreatedAt.UTC()
	}
	return row.Seq, at, nil
}

// AuthChangesAfter returns up to limit changes with a sequence number above seq, in order.
func AuthChangesAfter(tx *gorm.DB, seq int64, limit int) ([]AuthChange, error) {
	var cs []AuthChange
	if err := tx.Where("seq > ?", seq).Order("seq").Limit(limit).Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("read auth changes: %w", err)
	}
	return cs, nil
}

// AuthChangesFrom returns up to limit+1 changes with a sequence number of at least seq, in order.
func AuthChangesFrom(tx *gorm.DB, seq int64, limit int) ([]AuthChange, error) {
	var cs []AuthChange
	if err := tx.Where("seq >= ?", seq).Order("seq").Limit(limit + 1).Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("read auth changes: %w", err)
	}
	for i := range cs {
		cs[i].CreatedAt = cs[i].CreatedAt.UTC()
	}
	return cs, nil
}

// PruneAuthChanges deletes change rows older than before, except the newest row (followers use it
// to recognise their history); followers that fell that far behind reset instead.
func PruneAuthChanges(tx *gorm.DB, before time.Time) error {
	err := tx.Where("created_at < ? AND seq < (SELECT seq FROM auth_change_counter WHERE id = 1)", before).
		Delete(&AuthChange{}).Error
	if err != nil {
		return fmt.Errorf("prune auth changes: %w", err)
	}
	return nil
}

// TableName pins the table name of APIToken.
func (APIToken) TableName() string { return "api_tokens" }

// TableName pins the table name of AuthChange.
func (AuthChange) TableName() string { return "auth_changes" }

// ZoneAccounts maps each of the given zone ids that exists to its account id. The token cap uses
// it to know which account a zone named in a policy belongs to; the list may be of any length.
func ZoneAccounts(tx *gorm.DB, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var zs []Zone
	if err := tx.Select("id", "account_id").Where(InIDs(tx, "id", ids)).Find(&zs).Error; err != nil {
		return nil, fmt.Errorf("find accounts of zones: %w", err)
	}
	for _, z := range zs {
		out[z.ID] = z.AccountID
	}
	return out, nil
}

// DisableAPIToken sets an active token's status to disabled, in one statement so that the check
// and the change cannot be split by a concurrent edit, and reports whether it changed anything.
func DisableAPIToken(tx *gorm.DB, id string, at time.Time) (bool, error) {
	res := tx.Model(&APIToken{}).Where("id = ? AND status = ?", id, "active").
		Updates(map[string]any{"status": "disabled", "modified_on": at})
	if res.Error != nil {
		return false, fmt.Errorf("disable api token: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// TokenActorNames returns the name of token id and the email of its user ("" for an
// account-owned token), for attributing changes made with it.
func TokenActorNames(tx *gorm.DB, id string) (name, email string, err error) {
	var row struct {
		Name  string
		Email *string
	}
	err = tx.Table("api_tokens").Select("api_tokens.name AS name, users.email AS email").
		Joins("LEFT JOIN users ON users.id = api_tokens.user_id").Where("api_tokens.id = ?", id).Take(&row).Error
	if err != nil {
		return "", "", notFound(err, "token")
	}
	if row.Email != nil {
		email = *row.Email
	}
	return row.Name, email, nil
}

// ChildAPITokens returns the tokens whose parent is one of ids, whoever owns them: lineage crosses
// owners (a user's token may mint an account token), and only the tokens service follows it.
func ChildAPITokens(tx *gorm.DB, ids []string) ([]APIToken, error) {
	var rows []APIToken
	for len(ids) > 0 {
		n := min(len(ids), 500)
		var part []APIToken
		if err := tx.Where("parent_id IN ?", ids[:n]).Order("issued_on, id").Find(&part).Error; err != nil {
			return nil, fmt.Errorf("read child api tokens: %w", err)
		}
		rows = append(rows, part...)
		ids = ids[n:]
	}
	return rows, nil
}
