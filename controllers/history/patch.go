package history

import (
	"encoding/json"
	"fmt"
)

// TemplatePatch is what the ControllerRevisions of DaemonSets and StatefulSets store: a strategic
// merge patch replacing spec.template of obj (what `kubectl rollout undo` applies), as upstream's
// getPatch of both controllers.
func TemplatePatch(obj any) ([]byte, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("decoding %T: %w", obj, err)
	}
	spec, _ := raw["spec"].(map[string]any)
	template, _ := spec["template"].(map[string]any)
	if template == nil {
		template = map[string]any{}
	}
	template["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": template}})
}
