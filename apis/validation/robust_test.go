package validation

import (
	"math/rand"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/apis/defaults"
)

func allKinds() []func() runtime.Object {
	return []func() runtime.Object{
		func() runtime.Object { return &corev1.Pod{} },
		func() runtime.Object { return &corev1.Binding{} },
		func() runtime.Object { return &corev1.Namespace{} },
		func() runtime.Object { return &corev1.Node{} },
		func() runtime.Object { return &corev1.Service{} },
		func() runtime.Object { return &corev1.Endpoints{} },
		func() runtime.Object { return &corev1.Event{} },
		func() runtime.Object { return &corev1.ConfigMap{} },
		func() runtime.Object { return &corev1.Secret{} },
		func() runtime.Object { return &corev1.ServiceAccount{} },
		func() runtime.Object { return &appsv1.ReplicaSet{} },
		func() runtime.Object { return &appsv1.Deployment{} },
		func() runtime.Object { return &autoscalingv1.Scale{} },
		func() runtime.Object { return &coordinationv1.Lease{} },
		func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		func() runtime.Object { return &eventsv1.Event{} },
	}
}

func exercise(t *testing.T, obj, old runtime.Object) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic on %T: %v", obj, r)
		}
	}()
	_ = ValidateCreate(obj)
	_ = ValidateUpdate(obj, old)
	_ = ValidateStatusUpdate(obj, old)
	_ = ValidateUpdate(old, obj)
	defaults.Default(obj)
	_ = ValidateCreate(obj)
	_ = ValidateUpdate(obj, old)
	_ = ValidateStatusUpdate(obj, old)
}

// TestNoPanicZeroValues feeds zero-valued and defaulted-zero objects of every kind.
func TestNoPanicZeroValues(t *testing.T) {
	for _, mk := range allKinds() {
		exercise(t, mk(), mk())
		o := mk()
		defaults.Default(o)
		exercise(t, o, mk())
	}
	// Mismatched old objects must not panic either.
	_ = ValidateUpdate(&corev1.Pod{}, &corev1.Service{})
	_ = ValidateStatusUpdate(&corev1.Pod{}, &corev1.Service{})
	_ = ValidateCreate(&corev1.PodList{})
}

// TestNoPanicRandom fills objects of every kind with random (partial) content.
func TestNoPanicRandom(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 80; i++ {
		for _, mk := range allKinds() {
			obj, old := mk(), mk()
			fill(r, reflect.ValueOf(obj).Elem(), 0)
			fill(r, reflect.ValueOf(old).Elem(), 0)
			exercise(t, obj, old)
			exercise(t, obj.DeepCopyObject(), obj.DeepCopyObject())
		}
	}
}

var sampleStrings = []string{"", "a", "web", "None", "Always", "TCP", "10.0.0.1", "::1", "x/y", "Bad_Name", "25%", "-1", "IPv4", "ClusterIP", "LoadBalancer"}

// fill sets random values into v: pointers, slices and maps are left nil about half the time, so
// objects come out partially filled.
func fill(r *rand.Rand, v reflect.Value, depth int) {
	if depth > 10 || !v.CanSet() {
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.Intn(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type().String() == "intstr.Type" {
			v.SetInt(int64(r.Intn(3)))
			return
		}
		v.SetInt(int64(r.Intn(7) - 2))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(r.Intn(5)))
	case reflect.String:
		v.SetString(sampleStrings[r.Intn(len(sampleStrings))])
	case reflect.Ptr:
		if r.Intn(2) == 0 {
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(r, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		if r.Intn(2) == 0 {
			return
		}
		n := r.Intn(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			fill(r, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		if r.Intn(2) == 0 {
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i < r.Intn(3); i++ {
			k := reflect.New(v.Type().Key()).Elem()
			e := reflect.New(v.Type().Elem()).Elem()
			fill(r, k, depth+1)
			fill(r, e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		// Leave opaque library structs (time, quantities, raw extensions) at their zero value.
		switch v.Type().PkgPath() {
		case "time", "k8s.io/apimachinery/pkg/api/resource", "k8s.io/apimachinery/pkg/runtime":
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i), depth+1)
			}
		}
	}
}
