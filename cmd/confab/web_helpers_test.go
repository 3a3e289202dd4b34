package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Browser tests drive a real Chromium (Debian's chromium package) against a
// real confab started in-process. Every wait is on a DOM condition with a
// deadline; nothing sleeps to synchronise.

const (
	browserStep = 30 * time.Second // bound on one wait or action
	browserTest = 4 * time.Minute  // bound on a whole test, browser included
)

// chromiumPath finds Chromium. Without it a test skips on a laptop and
// fails under CI.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CONFAB_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found (apt-get install chromium); browser tests cannot be skipped under CI")
	}
	t.Skip("chromium not found; install Debian's chromium package to run the browser tests")
	return ""
}

// MustStartBrowser starts a headless Chromium with a fresh profile and
// returns a chromedp context of the running browser. It stops with the test.
func MustStartBrowser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	exe := chromiumPath(t)
	parent, cancelParent := context.WithTimeout(context.Background(), browserTest)
	alloc, cancelAlloc := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelParent()
	})
	// The first run starts the browser; it must not carry a step timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab is one page of one user.
type tab struct {
	t    *testing.T
	ctx  context.Context
	name string
}

// newTab opens a tab. With isolated it lives in a fresh browser context
// (its own cookies and storage, like another person's browser); otherwise
// it shares parent's (another tab of the same person).
func newTab(t *testing.T, parent context.Context, name string, isolated bool) *tab {
	t.Helper()
	var opts []chromedp.ContextOption
	if isolated {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, name: name}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: open tab: %v", name, err)
	}
	// Uncaught exceptions of the page are test failures.
	var mu sync.Mutex
	done := false
	t.Cleanup(func() { mu.Lock(); done = true; mu.Unlock() })
	if err := chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*runtime.EventExceptionThrown)
		if !ok || e.ExceptionDetails == nil {
			return
		}
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Errorf("%s: uncaught exception in the page at %s:%d: %s", name, d.URL, d.LineNumber+1, msg)
		}
	}); err != nil {
		t.Fatalf("%s: listen: %v", name, err)
	}
	return tb
}

// step runs actions with a deadline.
func (b *tab) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStep)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStep)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: eval %s: %v", b.name, expr, err)
	}
	return v
}

// waitFor polls a JavaScript expression until it is truthy.
func (b *tab) waitFor(what, expr string) {
	b.t.Helper()
	b.waitForWithin(what, expr, browserStep)
}

func (b *tab) waitForWithin(what, expr string, d time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[any](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(d)))
	if err != nil {
		state, _ := chromedp.Run(context.WithoutCancel(b.ctx), chromedp.Evaluate[string](
			`JSON.stringify({banner: document.getElementById('conn-banner')?.hidden === false, debug: window.confabDebug ? window.confabDebug.state() : null, title: document.title})`))
		b.t.Fatalf("%s: waiting for %s (%s): %v; page state %s", b.name, what, expr, err, state)
	}
}

// click clicks the element matched by a CSS selector through the DOM
// (hover-only controls included).
// onNewDocument runs src in each page the tab loads from now on, before
// the page's own scripts (what names it for the step).
func (b *tab) onNewDocument(what, src string) {
	b.t.Helper()
	b.step(what, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return err
	}))
}

func (b *tab) click(sel string) {
	b.t.Helper()
	b.waitFor("element "+sel, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
	eval[bool](b, fmt.Sprintf(`(document.querySelector(%q).click(), true)`, sel))
}

// typeInto focuses a field and types keys into it, as a person would.
func (b *tab) typeInto(sel, keys string) {
	b.t.Helper()
	b.step("type into "+sel, chromedp.WaitVisible(sel), chromedp.Focus(sel), chromedp.KeyEvent(keys))
}

// pressEnter presses Enter (with Shift when shift) as a keyboard does: one
// keyDown carrying the text "\r" and a keyUp, so that a page that
// prevents the keydown's default gets no newline.
func (b *tab) pressEnter(shift bool) {
	b.t.Helper()
	var mods int64
	if shift {
		mods = int64(chromedp.ModifierShift)
	}
	b.step("press Enter", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeKeyDown, input.DispatchKeyEventTypeKeyUp} {
			p := input.DispatchKeyEventParams{Type: typ, Modifiers: mods, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
			if typ == input.DispatchKeyEventTypeKeyDown {
				p.Text, p.UnmodifiedText = "\r", "\r"
			}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, p); err != nil {
				return err
			}
		}
		return nil
	}))
}

// setOffline cuts (or restores) the tab's network: every request and new
// WebSocket fails, and navigator.onLine follows.
func (b *tab) setOffline(offline bool) {
	b.t.Helper()
	b.step(fmt.Sprintf("offline=%v", offline), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		cond := &network.Conditions{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}
		if _, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{cond},
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: offline, DownloadThroughput: -1, UploadThroughput: -1,
		})
		return err
	}))
}

// screenshot saves a PNG of the page to the artifacts folder and returns
// its path.
func (b *tab) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStep)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
	dir := artifactsDir(b.t)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("write %s: %v", path, err)
	}
	b.t.Logf("screenshot saved to %s", path)
	return path
}

// artifactsDir is $CONFAB_ARTIFACTS, else <repo>/artifacts.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CONFAB_ARTIFACTS")
	if dir == "" {
		_, file, _, _ := goruntime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts directory: %v", err)
	}
	return dir
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string { return fmt.Sprintf("%q", s) }

// login logs in through the sign-in form and waits for the app.
func (b *tab) login(base, team, name, password string) {
	b.t.Helper()
	b.step("open "+base, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#auth-form"))
	b.typeInto("#auth-team", team)
	b.typeInto("#auth-name", name)
	b.typeInto("#auth-password", password)
	b.click("#auth-submit")
	b.waitFor("the app after log in", `!document.getElementById('app').hidden && window.confabDebug && window.confabDebug.state().live`)
}

// signupUI creates an account through the sign-up form.
func (b *tab) signupUI(base, team, name, password string) {
	b.t.Helper()
	b.step("open "+base, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#auth-form"))
	b.click("#tab-signup")
	b.typeInto("#auth-team", team)
	b.typeInto("#auth-name", name)
	b.typeInto("#auth-password", password)
	b.click("#auth-submit")
	b.waitFor("the app after sign up", `!document.getElementById('app').hidden && window.confabDebug && window.confabDebug.state().live`)
}

// openChannel clicks a conversation in the sidebar and waits for it.
func (b *tab) openChannel(id string) {
	b.t.Helper()
	b.click(fmt.Sprintf(`#sidebar .chan[data-channel-id=%q]`, id))
	b.waitFor("channel "+id+" open", fmt.Sprintf(`document.getElementById('messages').dataset.channelId === %q && document.getElementById('history-start').dataset.historyStart !== 'loading'`, id))
}

// hasText is a JS expression: a message of the open conversation whose
// text is exactly text and that the server has acknowledged.
func hasText(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#messages .msg[data-ts]:not(.pending) .text')].some(e => e.firstChild && e.textContent.replace(/ \(edited\)$/, '') === %s)`, jsString(text))
}

// signedIn opens a tab of its own (its own storage) for the user name,
// signed up by signup in workspace acme, signs in and opens channel.
func signedIn(t *testing.T, browser context.Context, m *Main, name, channel string) *tab {
	t.Helper()
	b := newTab(t, browser, name, true)
	b.login(m.URL(), "acme", name, "correct horse "+name)
	b.openChannel(channel)
	return b
}
