package stackgrow

import (
	"context"
	"net/http"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"

	"github.com/skiff-dev/skiff/apiserver/storagewrap"
)

// Frame is the size of the frame Grow puts on the stack: a goroutine whose stack is smaller
// grows to at least twice this size at once (the runtime doubles a stack until the new frame
// fits).
const Frame = 32 << 10

// Grow makes the calling goroutine's stack large enough for Frame more bytes than it uses now.
//
//go:noinline
func Grow() {
	var buf [Frame]byte
	keep(buf[:])
}

// keep makes buf live, so the compiler keeps Grow's frame.
//
//go:noinline
func keep(buf []byte) {}

// Authenticator grows the stack of the goroutine that runs the filter chain (the first filter
// after the timeout filter's goroutine starts is authentication) before it asks a.
func Authenticator(a authenticator.Request) authenticator.Request {
	return authenticator.RequestFunc(func(req *http.Request) (*authenticator.Response, bool, error) {
		Grow()
		return a.AuthenticateRequest(req)
	})
}

// Getter returns a getter whose resources' storage grows the stack of the goroutine a handler
// starts for its write (Create, Delete, GuaranteedUpdate) before it runs.
func Getter(g generic.RESTOptionsGetter) generic.RESTOptionsGetter {
	return storagewrap.Getter(g, func(_ *storagebackend.ConfigForResource, _ string, s storage.Interface) storage.Interface {
		return growing{s}
	})
}

type growing struct{ storage.Interface }

func (s growing) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	Grow()
	return s.Interface.Create(ctx, key, obj, out, ttl)
}

func (s growing) Delete(ctx context.Context, key string, out runtime.Object, preconditions *storage.Preconditions,
	validateDeletion storage.ValidateObjectFunc, cachedExistingObject runtime.Object, opts storage.DeleteOptions) error {
	Grow()
	return s.Interface.Delete(ctx, key, out, preconditions, validateDeletion, cachedExistingObject, opts)
}

func (s growing) GuaranteedUpdate(ctx context.Context, key string, destination runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	Grow()
	return s.Interface.GuaranteedUpdate(ctx, key, destination, ignoreNotFound, preconditions, tryUpdate, cachedExistingObject)
}
