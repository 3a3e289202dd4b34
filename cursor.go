package confab

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Cursors are opaque to clients: base64 of "<kind>:<key>". The kind stops a
// cursor of one list from being replayed against another.

// EncodeCursor returns the cursor for continuing a list of the given kind
// after (or before) key.
func EncodeCursor(kind, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + key))
}

// DecodeCursor returns the key of a cursor of the given kind; "" decodes to "".
// Anything else is ErrInvalidCursor.
func DecodeCursor(kind, cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	if len(cursor) > 256 {
		return "", ErrInvalidCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", ErrInvalidCursor
	}
	k, key, ok := strings.Cut(string(raw), ":")
	if !ok || k != kind || key == "" {
		return "", ErrInvalidCursor
	}
	return key, nil
}

// DecodeSeqCursor decodes a cursor whose key is a positive sequence number.
func DecodeSeqCursor(kind, cursor string) (int64, error) {
	key, err := DecodeCursor(kind, cursor)
	if err != nil || key == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(key, 10, 64)
	if err != nil || n <= 0 {
		return 0, ErrInvalidCursor
	}
	return n, nil
}

// EncodeSeqCursor is EncodeCursor for a sequence number.
func EncodeSeqCursor(kind string, seq int64) string {
	return EncodeCursor(kind, strconv.FormatInt(seq, 10))
}
