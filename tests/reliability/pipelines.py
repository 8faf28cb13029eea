"""The small pipeline the fault tests run: the applications, a logistic regression on them, then (as asked) an
evaluation and a deployment."""


def small_pipeline(
    name, *, evaluate=None, deploy_to=None, estimator="sklearn.linear_model.LogisticRegression",
    params="{max_iter: 500}", search=None,
):  # fmt: skip
    """Step names: ``load`` (ingest), ``fit`` (train), ``evaluate`` names the evaluate step, ``deploy_to`` adds a
    ``to-<environment>`` deploy stage; ``search`` (YAML flow text) gives the train step a search."""
    text = f"""version: 1
name: {name}
model: {name}-model
stages:
  - name: data
    steps:
      - {{name: load, type: ingest, dataset: credit-card-applications}}
  - name: train
    steps:
      - name: fit
        type: train
        target: card
        positive_label: "yes"
        drop: [share, expenditure]
        estimator: {estimator}
        params: {params}
"""
    if search:
        text += f"        search: {search}\n"
    if evaluate:
        text += f"      - {{name: {evaluate}, type: evaluate, sensitive_features: [owner]}}\n"
    if deploy_to:
        text += f"""  - name: ship
    steps:
      - {{name: to-{deploy_to}, type: deploy, environment: {deploy_to}}}
"""
    return text
