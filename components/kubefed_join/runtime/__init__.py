"""The join Lambda's runtime: the Provider framework's entry points (`handler`) and what they use. Imports only
the standard library, its pinned requirements (requirements.txt), botocore (from the Lambda runtime) and
`..contract`; never CDK or the app."""
