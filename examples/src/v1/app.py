"""my-lambda-function, Version1."""


def handler(event, context):
    return {"statusCode": 200, "body": "Hello from Version1"}
