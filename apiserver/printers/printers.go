package printers

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
)

// ForResource returns the table convertor for a served resource, or nil when none is specific to
// it (the caller then uses rest.NewDefaultTableConvertor).
func ForResource(gr schema.GroupResource) rest.TableConvertor { return nil }
