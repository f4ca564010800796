package controllers

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestWrittenNewest(t *testing.T) {
	job := func(uid types.UID, rv string, failed int32) *batchv1.Job {
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "j", UID: uid, ResourceVersion: rv},
			Status: batchv1.JobStatus{Failed: failed}}
	}
	var w Written[*batchv1.Job]
	if got := w.Newest(job("a", "5", 0)); got.ResourceVersion != "5" {
		t.Fatalf("nothing written: got %s", got.ResourceVersion)
	}
	w.Wrote(job("a", "7", 1))
	if got := w.Newest(job("a", "5", 0)); got.ResourceVersion != "7" || got.Status.Failed != 1 {
		t.Fatalf("stale cache: got rv %s failed %d, want the written copy", got.ResourceVersion, got.Status.Failed)
	}
	if got := w.Newest(job("b", "5", 0)); got.UID != "b" {
		t.Fatalf("another object of the same name: got %s", got.UID)
	}
	w.Wrote(job("a", "7", 1))
	if got := w.Newest(job("a", "9", 2)); got.ResourceVersion != "9" {
		t.Fatalf("cache caught up: got %s", got.ResourceVersion)
	}
	if got := w.Newest(job("a", "5", 0)); got.ResourceVersion != "5" {
		t.Fatalf("record dropped once caught up: got %s", got.ResourceVersion)
	}
}
