package stackgrow

import (
	"context"
	"net/http"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/storage"
)

// recordingStorage records which writes reached it.
type recordingStorage struct {
	storage.Interface
	calls []string
}

func (s *recordingStorage) Create(context.Context, string, runtime.Object, runtime.Object, uint64) error {
	s.calls = append(s.calls, "create")
	return nil
}

func (s *recordingStorage) Delete(context.Context, string, runtime.Object, *storage.Preconditions, storage.ValidateObjectFunc,
	runtime.Object, storage.DeleteOptions) error {
	s.calls = append(s.calls, "delete")
	return nil
}

func (s *recordingStorage) GuaranteedUpdate(context.Context, string, runtime.Object, bool, *storage.Preconditions,
	storage.UpdateFunc, runtime.Object) error {
	s.calls = append(s.calls, "update")
	return nil
}

func TestWrappersDelegate(t *testing.T) {
	inner := &recordingStorage{}
	s := growing{inner}
	ctx := context.Background()
	if err := s.Create(ctx, "k", nil, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.GuaranteedUpdate(ctx, "k", nil, false, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "k", nil, nil, nil, nil, storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := len(inner.calls), 3; got != want || inner.calls[0] != "create" || inner.calls[1] != "update" || inner.calls[2] != "delete" {
		t.Errorf("delegated calls = %v, want create, update, delete", inner.calls)
	}

	a := Authenticator(authenticator.RequestFunc(func(*http.Request) (*authenticator.Response, bool, error) {
		return &authenticator.Response{User: &user.DefaultInfo{Name: "alice"}}, true, nil
	}))
	resp, ok, err := a.AuthenticateRequest(&http.Request{})
	if err != nil || !ok || resp.User.GetName() != "alice" {
		t.Errorf("AuthenticateRequest = %v, %v, %v; want alice", resp, ok, err)
	}
}

// deep calls itself n times with a 1 KiB frame, as a request's filters, admission and storage
// calls stack up.
//
//go:noinline
func deep(n int) byte {
	var frame [1 << 10]byte
	frame[n%len(frame)] = byte(n)
	if n == 0 {
		return frame[0]
	}
	return deep(n-1) + frame[n%len(frame)]
}

// BenchmarkDeepGoroutine runs goroutines whose calls need a 48 KiB stack, side by side without
// and with Grow first: without, the stack doubles three times from its start and each growth
// copies the frames so far; with, it grows once while it holds a single frame.
func BenchmarkDeepGoroutine(b *testing.B) {
	for _, grow := range []bool{false, true} {
		name := "plain"
		if grow {
			name = "grow"
		}
		b.Run(name, func(b *testing.B) {
			done := make(chan byte)
			for b.Loop() {
				go func() {
					if grow {
						Grow()
					}
					done <- deep(48)
				}()
				<-done
			}
		})
	}
}
