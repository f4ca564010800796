// Package storagewrap wraps the storage.Interface of every resource a RESTOptionsGetter builds,
// after its decorator (the watch cache): the one place the API server's storage layers
// (apiserver/watchbuffer, apiserver/insight/history) hook in.
package storagewrap
