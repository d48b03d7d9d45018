# One image for every Python service; docker-compose.yml sets the command.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY data ./data
RUN pip install . && useradd --system --uid 10001 aicity
USER aicity
EXPOSE 8000 8001 9101
