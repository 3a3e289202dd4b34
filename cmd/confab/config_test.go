package main

import (
	"strings"
	"testing"
)

func TestConfigPrecedence(t *testing.T) {
	t.Setenv("CONFAB_LISTEN", "127.0.0.1:9999")
	t.Setenv("CONFAB_DATA", "/from/env")
	t.Setenv("CONFAB_RATE_LIMIT", "7")
	cfg := DefaultConfig()
	if err := cfg.ParseFlags("test", []string{"-data", "/from/flag"}); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9999" || cfg.DataDir != "/from/flag" || cfg.RateLimit != 7 {
		t.Fatalf("config = %+v: want listen from env, data from the flag, rate limit from env", cfg)
	}
}

func TestConfigRejectsNonsense(t *testing.T) {
	for _, c := range []struct {
		env, val string
		args     []string
		want     string
	}{
		{"CONFAB_RATE_LIMIT", "fast", nil, "CONFAB_RATE_LIMIT"},
		{"", "", []string{"-sqlite-sync", "sometimes"}, "sqlite-sync"},
		{"", "", []string{"-log-level", "loud"}, "log-level"},
		{"", "", []string{"-send-queue-bytes", "10"}, "send-queue-bytes"},
		{"", "", []string{"stray"}, "unexpected arguments"},
	} {
		if c.env != "" {
			t.Setenv(c.env, c.val)
		}
		cfg := DefaultConfig()
		err := cfg.ParseFlags("test", c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFlags(%s=%s %v) = %v, want an error about %s", c.env, c.val, c.args, err, c.want)
		}
		if c.env != "" {
			t.Setenv(c.env, "")
		}
	}
}
