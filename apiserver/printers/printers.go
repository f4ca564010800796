package printers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"
)

// now is the clock used for every age column; tests replace it.
var now = time.Now

// convertors holds one table convertor per served resource, built once.
var convertors = map[schema.GroupResource]rest.TableConvertor{}

// register adds the convertor for gr; each group file calls it from init.
func register(gr schema.GroupResource, c rest.TableConvertor) {
	if _, dup := convertors[gr]; dup {
		panic(fmt.Sprintf("printers: duplicate table convertor for %s", gr))
	}
	convertors[gr] = c
}

// ForResource returns the table convertor for a served resource, or nil when none is specific to
// it (the caller then uses rest.NewDefaultTableConvertor).
func ForResource(gr schema.GroupResource) rest.TableConvertor {
	c, ok := convertors[gr]
	if !ok {
		return nil
	}
	return c
}

// tableConvertor mirrors kube-apiserver's printerstorage.TableConvertor over the table generator:
// tables are always generated "wide" (kubectl drops priority>0 columns itself), NoHeaders drops the
// column definitions, and list metadata is carried over to the table.
type tableConvertor struct {
	columns []metav1.TableColumnDefinition
	// rows prints either a single object or a list of them; ok is false for any other type.
	rows func(obj runtime.Object) (rows []metav1.TableRow, ok bool)
}

var _ rest.TableConvertor = &tableConvertor{}

func (c *tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	noHeaders := false
	if tableOptions != nil {
		switch t := tableOptions.(type) {
		case *metav1.TableOptions:
			if t != nil {
				noHeaders = t.NoHeaders
			}
		default:
			return nil, fmt.Errorf("unrecognized type %T for table options, can't display tabular output", tableOptions)
		}
	}

	rows, ok := c.rows(obj)
	if !ok {
		return nil, fmt.Errorf("no table handler registered for this type %T", obj)
	}

	table := &metav1.Table{Rows: rows}
	if !noHeaders {
		table.ColumnDefinitions = append([]metav1.TableColumnDefinition(nil), c.columns...)
	}
	if m, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
		table.Continue = m.GetContinue()
		table.SetRemainingItemCount(m.GetRemainingItemCount())
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	return table, nil
}

// newConvertor builds a convertor for the object type PT (a pointer to T) and its list type PL,
// whose items are returned by items. print fills the cells (and conditions) of one row; the row's
// Object is set here, pointing at the printed object (for lists, at the list's item).
func newConvertor[T any, PT interface {
	*T
	runtime.Object
}, PL runtime.Object](columns []metav1.TableColumnDefinition, items func(PL) []T, print func(PT) metav1.TableRow) *tableConvertor {
	one := func(o PT) metav1.TableRow {
		row := print(o)
		row.Object = runtime.RawExtension{Object: o}
		return row
	}
	return &tableConvertor{
		columns: columns,
		rows: func(obj runtime.Object) ([]metav1.TableRow, bool) {
			switch o := obj.(type) {
			case PT:
				if o == nil {
					return nil, false
				}
				return []metav1.TableRow{one(o)}, true
			case PL:
				list := items(o)
				rows := make([]metav1.TableRow, 0, len(list))
				for i := range list {
					rows = append(rows, one(PT(&list[i])))
				}
				return rows, true
			}
			return nil, false
		},
	}
}

// cells is shorthand for a row holding just cells.
func cells(c ...any) metav1.TableRow { return metav1.TableRow{Cells: c} }

// Shared column descriptions.
var (
	objectMetaDoc = metav1.ObjectMeta{}.SwaggerDoc()

	nameColumn = metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc["name"]}
	ageColumn  = metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc["creationTimestamp"]}

	containersColumnDesc = "Names of each container in the template."
	imagesColumnDesc     = "Images referenced by each container in the template."
)

// translateTimestampSince returns the elapsed time since timestamp in human-readable
// approximation, "<unknown>" for the zero time.
func translateTimestampSince(timestamp metav1.Time) string {
	if timestamp.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now().Sub(timestamp.Time))
}

// translateMicroTimestampSince is translateTimestampSince for a MicroTime.
func translateMicroTimestampSince(timestamp metav1.MicroTime) string {
	if timestamp.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now().Sub(timestamp.Time))
}

// listWithMoreString joins at most max entries and appends " + N more..." when count exceeds
// them; an empty list prints "<unset>".
func listWithMoreString(list []string, more bool, count, max int) string {
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, count-max)
	}
	if ret == "" {
		ret = "<unset>"
	}
	return ret
}
