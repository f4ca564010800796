package helper

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestMergeTolerations(t *testing.T) {
	secs := func(s int64) *int64 { return &s }
	var (
		equalAB       = corev1.Toleration{Key: "a", Operator: corev1.TolerationOpEqual, Value: "b", Effect: corev1.TaintEffectNoSchedule}
		existsA       = corev1.Toleration{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
		existsAAny    = corev1.Toleration{Key: "a", Operator: corev1.TolerationOpExists}
		existsAll     = corev1.Toleration{Operator: corev1.TolerationOpExists}
		equalC        = corev1.Toleration{Key: "c", Operator: corev1.TolerationOpEqual, Value: "d", Effect: corev1.TaintEffectNoExecute}
		noExecute60   = corev1.Toleration{Key: "n", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(60)}
		noExecute300  = corev1.Toleration{Key: "n", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs(300)}
		noExecuteEver = corev1.Toleration{Key: "n", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	)
	for _, tc := range []struct {
		name          string
		first, second []corev1.Toleration
		want          []corev1.Toleration
	}{
		{"empty", nil, nil, nil},
		{"disjoint keep order", []corev1.Toleration{equalAB}, []corev1.Toleration{equalC}, []corev1.Toleration{equalAB, equalC}},
		{"equal ones: the first stays", []corev1.Toleration{equalAB}, []corev1.Toleration{equalAB}, []corev1.Toleration{equalAB}},
		{"Exists covers Equal, either side", []corev1.Toleration{equalAB}, []corev1.Toleration{existsA}, []corev1.Toleration{existsA}},
		{"empty effect covers every effect", []corev1.Toleration{existsA, equalAB}, []corev1.Toleration{existsAAny}, []corev1.Toleration{existsAAny}},
		{"empty key Exists covers all", []corev1.Toleration{equalAB, equalC}, []corev1.Toleration{existsAll}, []corev1.Toleration{existsAll}},
		{"longer NoExecute covers shorter", []corev1.Toleration{noExecute60}, []corev1.Toleration{noExecute300}, []corev1.Toleration{noExecute300}},
		{"forever covers any seconds", []corev1.Toleration{noExecuteEver}, []corev1.Toleration{noExecute60}, []corev1.Toleration{noExecuteEver}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := append([]corev1.Toleration(nil), tc.first...)
			if got := MergeTolerations(tc.first, tc.second); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("MergeTolerations = %+v, want %+v", got, tc.want)
			}
			if !reflect.DeepEqual(first, tc.first) {
				t.Errorf("first changed: %+v", tc.first)
			}
		})
	}
}
