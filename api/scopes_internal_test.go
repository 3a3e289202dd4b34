package api

import (
	"regexp"
	"testing"
)

// Every method is either limited by a bot scope, free of scopes, or
// refused to bots: a method added to the table without a line in
// scopes.go fails here instead of being open to every bot.
func TestEveryMethodHasItsScope(t *testing.T) {
	for name := range methods {
		n := 0
		if _, ok := botScopes[name]; ok {
			n++
		}
		if scopeFree[name] {
			n++
		}
		if notForBots[name] {
			n++
		}
		if n != 1 {
			t.Errorf("method %s is in %d of botScopes, scopeFree and notForBots; want exactly one (api/scopes.go)", name, n)
		}
	}
	scope := regexp.MustCompile(`^[a-z]+(\.[a-z]+)?:[a-z_.]+$`)
	for name, need := range botScopes {
		if len(need) == 0 {
			t.Errorf("%s needs no scope: put it in scopeFree", name)
		}
		for _, sc := range need {
			if !scope.MatchString(sc) {
				t.Errorf("%s: scope %q is not a scope", name, sc)
			}
		}
	}
}
