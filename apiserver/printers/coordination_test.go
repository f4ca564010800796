package printers

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
)

func TestLeaseRows(t *testing.T) {
	holder := "cp-1_7c1e"
	checkCells(t, rowCells(t, leasesGR, &coordinationv1.Lease{ObjectMeta: objMeta("kube-scheduler", 2*time.Hour), Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}),
		[]any{"kube-scheduler", "cp-1_7c1e", "120m"})
	checkCells(t, rowCells(t, leasesGR, &coordinationv1.Lease{ObjectMeta: objMeta("free", time.Minute)}),
		[]any{"free", "", "60s"})
}
