# bats file_tags=widgets

@test "widgets are served by their CRD" {
  count="$(kubectl get widgets.example.org -n widgets -o name | wc -l)"
  [ "$count" -ge 1 ]
}
