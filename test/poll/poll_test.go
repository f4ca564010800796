package poll

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	n := 0
	if err := Wait(context.Background(), time.Second, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil || n != 3 {
		t.Fatalf("Wait = %v after %d calls", err, n)
	}
	last := errors.New("last")
	err := Wait(context.Background(), 0, func() error { return last })
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, last) {
		t.Fatalf("Wait past its deadline = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Wait(ctx, time.Minute, func() error { return last }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a canceled context = %v", err)
	}
}

func TestCond(t *testing.T) {
	ok := false
	f := Cond(context.Background(), func(context.Context) (bool, error) { return ok, nil })
	if f() == nil {
		t.Fatal("unmet condition reported as met")
	}
	ok = true
	if f() != nil {
		t.Fatal("met condition reported as unmet")
	}
}

func TestCheck(t *testing.T) {
	ok, found := false, ""
	f := Check(func() (bool, string) { return ok, found })
	if err := f(); err == nil || err.Error() != "condition not met" {
		t.Fatalf("unmet condition without a finding = %v", err)
	}
	found = "2 pods"
	if err := f(); err == nil || err.Error() != "2 pods" {
		t.Fatalf("unmet condition = %v, want its finding", err)
	}
	ok = true
	if err := f(); err != nil {
		t.Fatalf("met condition = %v", err)
	}
}
