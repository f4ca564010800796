package printers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestResourceQuotaAndLimitRangeTables(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "compute", CreationTimestamp: metav1.NewTime(fixedNow.Add(-90 * time.Second))},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			"pods": resource.MustParse("4"), "requests.cpu": resource.MustParse("1"), "limits.memory": resource.MustParse("1Gi"), "limits.cpu": resource.MustParse("2"),
		}},
		Status: corev1.ResourceQuotaStatus{
			Hard: corev1.ResourceList{"pods": resource.MustParse("4"), "requests.cpu": resource.MustParse("1"), "limits.memory": resource.MustParse("1Gi"), "limits.cpu": resource.MustParse("2")},
			Used: corev1.ResourceList{"pods": resource.MustParse("1"), "requests.cpu": resource.MustParse("250m")},
		},
	}
	table, err := ForResource(core("resourcequotas")).ConvertToTable(context.Background(), q, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if got := names; len(got) != 4 || got[0] != "Name" || got[1] != "Age" || got[2] != "Request" || got[3] != "Limit" {
		t.Fatalf("columns %v", got)
	}
	cells := table.Rows[0].Cells
	if cells[0] != "compute" || cells[1] != "90s" || cells[2] != "pods: 1/4, requests.cpu: 250m/1" || cells[3] != "limits.cpu: 0/2, limits.memory: 0/1Gi" {
		t.Errorf("row %q", cells)
	}

	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits", CreationTimestamp: created}}
	table, err = ForResource(core("limitranges")).ConvertToTable(context.Background(), &corev1.LimitRangeList{Items: []corev1.LimitRange{*lr}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := table.ColumnDefinitions; len(c) != 2 || c[0].Name != "Name" || c[1].Name != "Created At" {
		t.Fatalf("columns %v", c)
	}
	if cells := table.Rows[0].Cells; cells[0] != "limits" || cells[1] != "2026-01-02T03:04:05Z" {
		t.Errorf("row %q", cells)
	}
}
